"""Exploration strategies behind one interface (strategies.base.Strategy)."""

from __future__ import annotations

from strategies.base import Decision, History, Strategy, StrategyContext, Widget

NAMES = ("deny", "bfs", "random", "replay")


class UnknownStrategy(ValueError):
    pass


def make_strategy(name: str, seed: int = 0, replay_actions: list[dict] | None = None) -> Strategy:
    if name == "deny":
        from strategies.deny import DenyStrategy

        return DenyStrategy()
    if name == "bfs":
        from strategies.bfs import BfsStrategy

        return BfsStrategy()
    if name == "random":
        from strategies.random_walk import RandomStrategy

        return RandomStrategy(seed)
    if name == "replay":
        from strategies.replay import ReplayStrategy

        return ReplayStrategy(replay_actions or [])
    raise UnknownStrategy(f"{name!r}: unknown strategy (choose from {', '.join(NAMES)})")


__all__ = ["NAMES", "Decision", "History", "Strategy", "StrategyContext", "UnknownStrategy", "Widget", "make_strategy"]
