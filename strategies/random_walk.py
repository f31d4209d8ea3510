"""Seeded random exploration (monkey-like, reproducible with --seed), still saying no to every dialog."""

from __future__ import annotations

import random

from strategies import explore, refusal
from strategies.base import Decision, StrategyContext


class RandomStrategy:
    name = "random"

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)

    def choose(self, ctx: StrategyContext) -> Decision:
        return refusal.answer(ctx) or explore.at_random(ctx, self.rng)
