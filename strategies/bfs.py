"""Screen-by-screen exploration that never gives in: like `deny`, but consent is never accepted, even when refusing
it closes the app (the crawl then ends once relaunches are used up)."""

from __future__ import annotations

from strategies import explore, refusal
from strategies.base import Decision, StrategyContext


class BfsStrategy:
    name = "bfs"

    def choose(self, ctx: StrategyContext) -> Decision:
        ctx.history.consent_refusal_exited = False
        return refusal.answer(ctx) or explore.screen_first(ctx)
