"""The one narrow interface between the crawl loop and an exploration strategy.

The session observes, perceives and records; a strategy only looks at the current `StrategyContext` and returns a
`Decision`.
Strategies never touch the device, so the same strategy runs on a phone, an emulator and the simulator, and a replay
is just another strategy.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Protocol

from crawler.perceive.scene import Control, Scene
from crawler.trace import ActionType


@dataclass
class Decision:
    type: ActionType  # a plain string of the same vocabulary is accepted (a replayed recorded action)
    role: str = ""  # the Scene action role acted on ("deny", "close", ...); "" for exploration
    control: Control | None = None  # what to tap (tap / long_tap / text)
    reason: str = ""
    user_like: bool = True  # would a user do this? (recovery presses and our own stops are not)
    seconds: float = 0.0  # wait
    text: str = ""  # text
    direction: str = ""  # swipe
    widget: str = ""  # widget identity, for exploration bookkeeping and replay


@dataclass
class Widget:
    """A tappable target on an app screen, with an identity that survives layout changes (for replay)."""

    identity: str  # resource-id | class | label, plus an ordinal among equals
    control: Control
    cls: str = ""
    long_clickable: bool = False
    editable: bool = False


@dataclass
class History:
    """What the crawl has seen so far, shared by the session and the strategy."""

    launches: int = 0
    requests: Counter = field(default_factory=Counter)  # permission group -> system dialogs seen
    consent_refusals: int = 0
    consent_refusal_exited: bool = False  # refusing consent closed the app: accept next time to explore
    tried: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # state -> widget identities
    known: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # state -> widgets seen on it
    edges: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))  # state -> widget -> state
    dialog_attempts: Counter = field(default_factory=Counter)  # state -> actions taken on a dialog in that state
    waits_in_state: Counter = field(default_factory=Counter)
    root_state: str = ""  # the first app screen with widgets after the latest launch
    exit_states: set[str] = field(default_factory=set)  # screens where our back press left the app

    def untried(self, state: str) -> set[str]:
        return self.known[state] - self.tried[state]


@dataclass
class StrategyContext:
    """What a strategy sees when it chooses its next action: the app, the scene and state on screen, the widgets,
    the device time and the history of the crawl so far."""

    package: str
    scene: Scene
    state: str
    widgets: list[Widget]
    t: float
    history: History
    app_in_front: bool = True


class Strategy(Protocol):
    name: str

    def choose(self, ctx: StrategyContext) -> Decision: ...
