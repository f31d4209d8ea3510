"""The trace: the append-only record of a crawl, and the only input of detectors, graph, report and replay.

A trace is a sequence of `Step`s. `t` is device time in seconds (virtual on the simulator, wall clock on a phone,
always read from the device). `data` is JSON; its fields per kind are listed below and are a stable contract:
add fields freely, never change the meaning of one (old runs are re-analysed with new detectors).

Readers go through the typed views below (`Obs`, `Act`, `Event`, `Permissions`, `Recovery`, `RunEnd`: one per kind,
each built by `.of(step)` and tolerant of old runs and missing fields; `Trace.observations()`, `.actions()`,
`.events()`), not through `step.data` by hand. The vocabularies (step kinds, action types, who acted, event types,
recovery types, end reasons, scene kinds) are string enums: a member *is* its string (`ActionType.TAP == "tap"`, JSON
writes "tap"), so stored traces and their hash chain are what they always were, and a value an older or newer run
holds that is not a member still reads as its string.

kind            data fields
--------------  ------------------------------------------------------------------------------------------------
run_start       device {serial, state, model, manufacturer, android, sdk, rom, locale, fingerprint}, app {package, version_name,
                version_code, version_name_truncated (true only when the app's name was longer than 100 characters
                and was cut), apk_sha256, label, signers [{scheme, subject, issuer, sha256, not_before, not_after}],
                apk_problem, apk_source, sdks} (apk_source: "given" = the --apk the crawl installed, "installed" = pulled
                from the device, where the app already was; label and signers: read from that APK; sdks: ids of the
                ad SDKs (crawler/lexicon/ad_sdks.yaml) its classes*.dex name, absent when no APK was read; apk_sha256
                "" and apk_problem when it could not be read), tool {name, version}, strategy, seed,
                settings {...}, reproduces {run, path, finding, kind, attempt, of} (a reproduction run only)
observation     package (in front), activity, pid (the app's, int|None), state (state key), scene
                (Scene.to_json()), xml (blob sha256), png (blob sha256 | None), app_in_front (the app, or a system
                dialog shown for it), screen_blank (the screenshot was black: FLAG_SECURE)
action          type (tap|long_tap|back|home|swipe|text|wait|launch|clear_data|kill_background), by (strategy |
                session), role (the Scene action role acted on, e.g. "deny"; "" for exploration), scene (kind acted
                on), state, permission (group, on permission dialogs and nags), target {bounds, text, resource_id}
                (taps: what the strategy chose), hit {point, window, window_package, bounds, text, resource_id,
                class, package} (taps: the node a tap at that point reaches on the screen read, crawler/hittest.py;
                no bounds when the window there has nothing clickable), widget (identity, exploration taps), reason, user_like (would a user do this? False for our
                own clear_data / kill_background), cold (launch only), seconds (wait), text (text), direction (swipe)
event           type (proc_start|proc_died|kill|crash|anr|activity_start|permission_request|app_died), package, pid,
                uid, reason (proc_start type: activity|broadcast|service|...), component, caller_uid, raw (the
                logcat line, bounded), source (logcat|poll). permission_request = the app started
                GrantPermissionsActivity (logged even when the system denies silently because of USER_FIXED);
                app_died = the crawler saw the app's pid vanish (source poll)
permissions     package, permissions {android.permission.X: {granted: bool, flags: [USER_SET, ...]}}
recovery        type (left_app|died|crashed|anr|stuck|bad_hierarchy), detail, escalation (stuck only:
                close|outside|back|relaunch|give_up, the step taken on a screen that stays the same)
run_end         reason (done|budget|steps|interrupted|device_lost|error), detail, steps, seconds
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = 1


class StepKind(StrEnum):
    RUN_START = "run_start"
    OBSERVATION = "observation"
    ACTION = "action"
    EVENT = "event"
    PERMISSIONS = "permissions"
    RECOVERY = "recovery"
    RUN_END = "run_end"


class ActionType(StrEnum):
    """What an action did. A strategy decides tap ... stop; the session records launch, clear_data, kill_background
    (and force_stop, in runs of older versions). `stop` ends the crawl and is never recorded."""

    TAP = "tap"
    LONG_TAP = "long_tap"
    TEXT = "text"
    BACK = "back"
    HOME = "home"
    SWIPE = "swipe"
    WAIT = "wait"
    RELAUNCH = "relaunch"
    STOP = "stop"
    LAUNCH = "launch"
    CLEAR_DATA = "clear_data"
    KILL_BACKGROUND = "kill_background"
    FORCE_STOP = "force_stop"


class ActedBy(StrEnum):
    STRATEGY = "strategy"
    SESSION = "session"


class EventType(StrEnum):
    PROC_START = "proc_start"
    PROC_DIED = "proc_died"
    KILL = "kill"
    CRASH = "crash"
    ANR = "anr"
    ACTIVITY_START = "activity_start"
    PERMISSION_REQUEST = "permission_request"
    APP_DIED = "app_died"


class RecoveryType(StrEnum):
    LEFT_APP = "left_app"
    DIED = "died"
    CRASHED = "crashed"
    ANR = "anr"
    STUCK = "stuck"
    BAD_HIERARCHY = "bad_hierarchy"


class EndReason(StrEnum):
    DONE = "done"
    BUDGET = "budget"
    STEPS = "steps"
    INTERRUPTED = "interrupted"
    DEVICE_LOST = "device_lost"
    ERROR = "error"


class SceneKind(StrEnum):
    """What perception says is on screen (crawler.perceive.scene.Scene.kind)."""

    PERMISSION_DIALOG = "permission_dialog"  # the system's runtime-permission dialog (any ROM)
    CONSENT_DIALOG = "consent_dialog"  # the app's privacy-policy consent
    RATIONALE_DIALOG = "rationale_dialog"  # the app's own permission explanation or go-to-settings nag
    AD_POPUP = "ad_popup"  # a modal ad / promotion / update or rating prompt
    SPLASH_AD = "splash_ad"  # a launch-screen ad with skip / countdown
    SYSTEM_DIALOG = "system_dialog"  # app stopped / not responding / chooser / other system UI
    APP = "app"  # the app's own screen, nothing modal


STEP_KINDS = tuple(StepKind)


@dataclass(frozen=True)
class Step:
    seq: int
    t: float
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True)
class ChainedStep(Step):
    """A step with its link in the hash chain (crawler.chain): as the store walks it for export, as a bundle's
    trace.jsonl ships it. `canonical`: the text it was read from is exactly the canonical JSON of its fields (what
    naysayer writes); a bundle line with the same content in other bytes is not."""

    prev_hash: str
    hash: str
    canonical: bool = True


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return str(value or "")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Obs:
    """An observation: what was on screen, and what perception said it was."""

    seq: int
    t: float
    package: str  # in front
    activity: str
    pid: int | None  # the app's
    app_in_front: bool | None  # the app, or a system dialog shown for it (None: not recorded)
    png: str | None  # screenshot blob sha256
    scene: dict[str, Any]  # Scene.to_json()
    state: str = ""  # state key
    xml: str = ""  # hierarchy blob sha256
    screen_blank: bool = False

    @classmethod
    def of(cls, s: Step) -> Obs:
        d = s.data
        scene = d.get("scene")
        in_front = d.get("app_in_front")
        return cls(s.seq, s.t, _text(d.get("package")), _text(d.get("activity")), _int(d.get("pid")),
                   None if in_front is None else bool(in_front), d.get("png") or None,
                   {"kind": scene} if isinstance(scene, str) else _dict(scene),
                   _text(d.get("state")), _text(d.get("xml")), bool(d.get("screen_blank", False)))

    @property
    def kind(self) -> str:
        """The scene kind (a SceneKind value; an unknown kind from another version reads as its string)."""
        return str(self.scene.get("kind", SceneKind.APP))

    @property
    def permission(self) -> str | None:
        return self.scene.get("permission") or None

    @property
    def actions(self) -> dict[str, dict[str, Any]]:
        actions = self.scene.get("actions") or {}
        return actions if isinstance(actions, dict) else {}

    @property
    def text(self) -> list[str]:
        return [str(line) for line in self.scene.get("text") or []]

    @property
    def confidence(self) -> float:
        return float(self.scene.get("confidence", 1.0))

    @property
    def countdown(self) -> int | None:
        value = self.scene.get("countdown")
        return int(value) if isinstance(value, (int, float)) else None

    def signature(self) -> tuple:
        """What identifies one dialog across observations: kind, package, and its text."""
        return (self.kind, self.package, self.permission, tuple(sorted(self.text[:12])))


@dataclass(frozen=True)
class Act:
    """An action: what the crawler did, on which scene, and why."""

    seq: int
    t: float
    type: str  # an ActionType value
    role: str  # the Scene action role acted on ("deny"); "" for exploration
    scene: str  # the scene kind acted on
    permission: str | None  # group, on permission dialogs and nags
    user_like: bool  # would a user do this? False for our own clear_data / kill_background
    cold: bool  # launch only
    target_text: str
    by: str  # an ActedBy value
    state: str = ""  # the state acted in
    reason: str = ""
    target: dict[str, Any] = field(default_factory=dict)  # {bounds, text, resource_id} (taps)
    widget: str = ""  # widget identity (exploration taps)
    seconds: float = 0.0  # wait
    text: str = ""  # text typed
    direction: str = ""  # swipe

    @classmethod
    def of(cls, s: Step) -> Act:
        d = s.data
        target = _dict(d.get("target"))
        seconds = d.get("seconds")
        return cls(s.seq, s.t, _text(d.get("type")), _text(d.get("role")), _text(d.get("scene")),
                   d.get("permission") or None, d.get("user_like", True) is not False, bool(d.get("cold", False)),
                   _text(target.get("text"))[:200], _text(d.get("by")), _text(d.get("state")), _text(d.get("reason")),
                   target, _text(d.get("widget")),
                   float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else 0.0,
                   _text(d.get("text")), _text(d.get("direction")))

    @property
    def target_bounds(self) -> list | None:
        bounds = self.target.get("bounds")
        return bounds if isinstance(bounds, list) and len(bounds) == 4 else None

    def describe(self) -> str:
        words = [self.type] + [w for w in (self.role, self.permission) if w]
        return " ".join(words)


@dataclass(frozen=True)
class Event:
    """A system event (logcat or the crawler's own poll): a process, a crash, an activity start, a request."""

    seq: int
    t: float
    type: str  # an EventType value
    package: str
    pid: int | None
    uid: int | None
    reason: str  # proc_start: activity | broadcast | service ...
    component: str
    source: str  # logcat | poll
    data: dict[str, Any]  # every field, for the rarer ones (caller_uid, caller_package, permission(s), raw)

    @classmethod
    def of(cls, s: Step) -> Event:
        d = s.data
        return cls(s.seq, s.t, _text(d.get("type")), _text(d.get("package")), _int(d.get("pid")), _int(d.get("uid")),
                   _text(d.get("reason")), _text(d.get("component")), _text(d.get("source")), d)


@dataclass(frozen=True)
class Permissions:
    """The app's runtime permissions as the device reported them (recorded when they change)."""

    seq: int
    t: float
    package: str
    permissions: dict[str, dict[str, Any]]  # android.permission.X -> {granted: bool, flags: [USER_SET, ...]}

    @classmethod
    def of(cls, s: Step) -> Permissions:
        perms = _dict(s.data.get("permissions"))
        return cls(s.seq, s.t, _text(s.data.get("package")),
                   {str(k): v for k, v in perms.items() if isinstance(v, dict)})


@dataclass(frozen=True)
class Recovery:
    seq: int
    t: float
    type: str  # a RecoveryType value
    detail: str

    @classmethod
    def of(cls, s: Step) -> Recovery:
        return cls(s.seq, s.t, _text(s.data.get("type")), _text(s.data.get("detail")))


@dataclass(frozen=True)
class RunEnd:
    seq: int
    t: float
    reason: str  # an EndReason value
    detail: str
    steps: int | None
    seconds: float | None

    @classmethod
    def of(cls, s: Step) -> RunEnd:
        d = s.data
        seconds = d.get("seconds")
        return cls(s.seq, s.t, _text(d.get("reason")), _text(d.get("detail")), _int(d.get("steps")),
                   float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else None)


@dataclass
class Trace:
    """A whole run's steps in order, as detectors see it."""

    steps: list[Step] = field(default_factory=list)

    @property
    def start(self) -> dict[str, Any]:
        for step in self.steps:
            if step.kind == StepKind.RUN_START:
                return step.data
        return {}

    @property
    def app(self) -> dict[str, Any]:
        """run_start's app {package, version_name, version_code, apk_sha256, label, signers, ...}."""
        return _dict(self.start.get("app"))

    @property
    def device(self) -> dict[str, Any]:
        """run_start's device {serial, model, android, sdk, rom, ...}."""
        return _dict(self.start.get("device"))

    @property
    def package(self) -> str:
        return self.app.get("package", "")

    @property
    def end(self) -> RunEnd | None:
        return next((RunEnd.of(s) for s in reversed(self.steps) if s.kind == StepKind.RUN_END), None)

    def of(self, *kinds: str) -> Iterator[Step]:
        return (s for s in self.steps if s.kind in kinds)

    def after(self, seq: int) -> Iterator[Step]:
        return (s for s in self.steps if s.seq > seq)

    def observations(self) -> Iterator[Obs]:
        return (Obs.of(s) for s in self.steps if s.kind == StepKind.OBSERVATION)

    def actions(self) -> Iterator[Act]:
        return (Act.of(s) for s in self.steps if s.kind == StepKind.ACTION)

    def events(self, *types: str) -> Iterator[Event]:
        return (Event.of(s) for s in self.steps
                if s.kind == StepKind.EVENT and (not types or s.data.get("type") in types))
