"""What usage would have cost at the standard (real-time) price: the list cost behind the batch discount.

The ledger records what each request cost. For batch rows that is the batch price, so the discount is the
standard price minus that. The rollup keeps token sums per day x provider x model, and pricing those sums twice
(standard and batch, same day) gives the ratio between the two prices; the recorded cost times that ratio is the
list cost. This stays exact when a price is tiered by prompt size (summed tokens would land in the wrong tier,
but both prices land in the same one) and never re-prices what was recorded.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from finops.governance import pricing
from finops.governance.pricing import TokenUsage


def list_cost(provider: str, model: str, tokens: TokenUsage, recorded: Decimal, *, batch: bool, day: date) -> Decimal:
    """The standard-price cost of usage recorded at ``recorded``; ``recorded`` itself when it was not a batch or
    either price is unknown."""
    if not batch or recorded == 0:
        return recorded
    standard = pricing.cost(provider, model, tokens, batch=False, when=day)
    discounted = pricing.cost(provider, model, tokens, batch=True, when=day)
    if standard is None or not discounted:
        return recorded
    return recorded * standard / discounted
