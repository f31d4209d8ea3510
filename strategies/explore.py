"""Exploration of app screens: every untried widget of a screen before leaving it, then a screen reached from here
that still has untried widgets, back when nothing is left here. When nothing is left anywhere reachable, the crawl
dwells on the app's first screen, watching what the app does by itself (re-prompts, pop-ups) until the budget ends."""

from __future__ import annotations

import random

from crawler.trace import ActionType
from strategies.base import Decision, StrategyContext, Widget

SAMPLE_TEXT = "naysayer"
EMPTY_WAIT = 1.0  # seconds to wait on a screen that offers nothing to tap yet (splash, loading)
EMPTY_LOOKS = 5  # looks at a screen with nothing to tap before going back (a reader page, a picture)
DWELL = 5.0  # seconds per look while dwelling


def _tap(widget: Widget, reason: str) -> Decision:
    if widget.editable:
        return Decision(ActionType.TEXT, control=widget.control, text=SAMPLE_TEXT, widget=widget.identity,
                        reason=reason)
    return Decision(ActionType.TAP, control=widget.control, widget=widget.identity, reason=reason)


def screen_first(ctx: StrategyContext) -> Decision:
    history = ctx.history
    if not ctx.widgets:
        history.waits_in_state[ctx.state] += 1
        if history.waits_in_state[ctx.state] <= EMPTY_LOOKS or ctx.state == history.root_state:
            return Decision(ActionType.WAIT, seconds=EMPTY_WAIT, reason="wait: nothing to tap on this screen yet")
        return Decision(ActionType.BACK, reason="explore: nothing to tap here")
    for widget in ctx.widgets:
        if widget.identity not in history.tried[ctx.state]:
            history.tried[ctx.state].add(widget.identity)
            return _tap(widget, "explore: untried widget")
    for widget in ctx.widgets:
        target = history.edges[ctx.state].get(widget.identity)
        if target and target != ctx.state and history.untried(target):
            return _tap(widget, "explore: back to a screen with untried widgets")
    if ctx.state == history.root_state or ctx.state in history.exit_states:
        return Decision(ActionType.WAIT, seconds=DWELL,
                        reason="dwell: everything here tried; watch what the app does alone")
    return Decision(ActionType.BACK, reason="explore: nothing left on this screen")


def at_random(ctx: StrategyContext, rng: random.Random) -> Decision:
    if not ctx.widgets or rng.random() < 0.1:
        return Decision(ActionType.BACK, reason="random: back")
    widget = rng.choice(ctx.widgets)
    ctx.history.tried[ctx.state].add(widget.identity)
    return _tap(widget, "random: widget")
