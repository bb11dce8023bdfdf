"""What usage would have cost at the standard (real-time) price: the list cost behind the batch discount.

The ledger records what each request cost; for batch rows that is the batch price. The standard price is that
cost times the model's markup of standard over batch price on that day, which pricing a reference usage (a
million tokens of each kind) at both prices gives. Providers discount batches by a flat share of every token
kind (genai-prices' batch tables and ``pricing.BATCH_DISCOUNT`` alike), so the markup does not depend on the mix
of tokens, and the recorded cost is never re-priced. One markup per model and month (the discount is a policy,
not a price, and resolving a price table costs milliseconds), cached for the process.
"""

from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal

from finops.governance import pricing
from finops.governance.pricing import TokenUsage

_REFERENCE = TokenUsage(1_000_000, 1_000_000, 1_000_000, 1_000_000)


@functools.lru_cache(maxsize=8192)
def batch_markup(provider: str, model: str, day: date) -> Decimal | None:
    """Standard price / batch price of the model on ``day``; ``None`` when either is unknown."""
    standard = pricing.cost(provider, model, _REFERENCE, batch=False, when=day)
    discounted = pricing.cost(provider, model, _REFERENCE, batch=True, when=day)
    if standard is None or not discounted:
        return None
    return standard / discounted


def list_cost(provider: str, model: str, recorded: Decimal, *, batch: bool, day: date) -> Decimal:
    """The standard-price cost of usage recorded at ``recorded``; ``recorded`` itself when it was not a batch or
    the prices are unknown."""
    if not batch or recorded == 0:
        return recorded
    # The month's first day, or the day itself for a model genai-prices did not know on the 1st.
    markup = batch_markup(provider, model, day.replace(day=1)) or batch_markup(provider, model, day)
    return recorded if markup is None else recorded * markup
