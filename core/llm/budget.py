"""Per-run budget: refuse model calls once a run has used its tokens or its money."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from core.errors import BudgetExceeded
from core.usage import CallRecord

PriceFn = Callable[..., object]
"""``price_call(provider, model, prompt_tokens, completion_tokens, cached_tokens) -> Price(cost_usd, source)``."""

_PRICE_IT = object()


def _default_price(*args, **kwargs):
    from core.pricing import price_call  # imported late: pricing is optional for token-only budgets

    return price_call(*args, **kwargs)


@dataclass
class RunBudget:
    """Token and cost limits of one run, charged with every attempt the model client makes.

    ``charge`` raises once a limit is crossed (after the call was recorded); ``check_before_call``
    raises when a run is already at or over a limit, so no further call is made.
    """

    max_cost_usd: float | Decimal | None = None
    max_tokens: int | None = None
    price: PriceFn = field(default=_default_price, repr=False)
    """Prices a call; only consulted when ``max_cost_usd`` is set."""
    tokens_used: int = 0
    cost_usd: Decimal = Decimal(0)
    unpriced_calls: int = 0
    """Calls whose price is unknown: they count for tokens but cannot count for cost."""

    def check_before_call(self) -> None:
        """Raise ``BudgetExceeded`` when the run is already at or over one of its limits."""
        if self.max_tokens is not None and self.tokens_used >= self.max_tokens:
            raise BudgetExceeded(
                f"This run has used {self.tokens_used} tokens, its limit is {self.max_tokens}; "
                "no further model call is made. Raise DIFYFORGE_MAX_TOKENS_PER_RUN to allow more."
            )
        if self.max_cost_usd is not None and self.cost_usd >= Decimal(str(self.max_cost_usd)):
            raise BudgetExceeded(
                f"This run has cost ${self.cost_usd:.4f}, its limit is ${Decimal(str(self.max_cost_usd)):.4f}; "
                "no further model call is made. Raise DIFYFORGE_MAX_COST_PER_RUN to allow more."
            )

    def charge(self, call: CallRecord, cost: Decimal | None | object = _PRICE_IT) -> None:
        """Add one call's usage; raise ``BudgetExceeded`` when that crosses a limit.

        Args:
            call: the attempt's record (its tokens count whatever its outcome).
            cost: its cost when the caller knows it (None = unknown); priced with ``price`` when omitted.
        """
        self.tokens_used += call.prompt_tokens + call.completion_tokens
        if self.max_cost_usd is not None:
            if cost is _PRICE_IT:
                cost = self.price(call.provider, call.model, call.prompt_tokens, call.completion_tokens,
                                  call.cached_tokens).cost_usd
            if cost is None:
                self.unpriced_calls += 1
            else:
                self.cost_usd += Decimal(str(cost))
        if self.max_tokens is not None and self.tokens_used > self.max_tokens:
            raise BudgetExceeded(
                f"This run used {self.tokens_used} tokens and crossed its limit of {self.max_tokens}. "
                "Raise DIFYFORGE_MAX_TOKENS_PER_RUN or ask for a smaller workflow."
            )
        if self.max_cost_usd is not None and self.cost_usd > Decimal(str(self.max_cost_usd)):
            raise BudgetExceeded(
                f"This run cost ${self.cost_usd:.4f} and crossed its limit of "
                f"${Decimal(str(self.max_cost_usd)):.4f}. Raise DIFYFORGE_MAX_COST_PER_RUN to allow more."
            )
