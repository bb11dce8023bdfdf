"""The field policy: for every feature of an Anthropic request and every provider, whether the gateway translates
it, passes it through, ignores it (only where the answer cannot change) or refuses it with a 400 (``table.py``).
``core`` enforces it on every Messages, count_tokens and batch request before any adapter is called.
"""

from .enforce import enforce_batch_policy, enforce_policy
from .features import Feature, features
from .rules import COLUMNS, Decision, Row, Rule, column_for
from .table import ROWS, SECTIONS

__all__ = [
    "COLUMNS",
    "ROWS",
    "SECTIONS",
    "Decision",
    "Feature",
    "Row",
    "Rule",
    "column_for",
    "enforce_batch_policy",
    "enforce_policy",
    "features",
]
