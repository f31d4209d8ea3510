"""Exploration strategies behind one interface (strategies.base.Strategy)."""

from __future__ import annotations

from crawler.errors import UserError
from strategies.base import Decision, History, Strategy, StrategyContext, Widget

NAMES = ("deny", "bfs", "random", "replay")


class UnknownStrategy(UserError, ValueError):
    pass


def check_strategy(name: str) -> None:
    """Raises UnknownStrategy unless `name` is one of NAMES."""
    if name not in NAMES:
        raise UnknownStrategy(f"{name!r}: unknown strategy (choose from {', '.join(NAMES)})")


def make_strategy(name: str, seed: int = 0, replay_actions: list[dict] | None = None) -> Strategy:
    check_strategy(name)
    if name == "deny":
        from strategies.deny import DenyStrategy

        return DenyStrategy()
    if name == "bfs":
        from strategies.bfs import BfsStrategy

        return BfsStrategy()
    if name == "random":
        from strategies.random_walk import RandomStrategy

        return RandomStrategy(seed)
    from strategies.replay import ReplayStrategy

    return ReplayStrategy(replay_actions or [])


__all__ = [
    "NAMES", "Decision", "History", "Strategy", "StrategyContext", "UnknownStrategy", "Widget", "check_strategy",
    "make_strategy",
]
