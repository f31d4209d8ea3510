"""The default strategy: say no to every dialog (strategies.refusal), explore the app screen by screen."""

from __future__ import annotations

from strategies import explore, refusal
from strategies.base import Decision, StrategyContext


class DenyStrategy:
    name = "deny"

    def choose(self, ctx: StrategyContext) -> Decision:
        return refusal.answer(ctx) or explore.screen_first(ctx)
