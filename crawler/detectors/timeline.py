"""Derived views of a trace that several detectors share: observations and actions as typed records, denials,
permission asks (system dialog, suppressed request, app nag), launches, and app exits after a step.

The central distinction is who did what: the app, or the crawler. An exit scan stops at the crawler's next action
(other than waiting), so an exit after our back / home / force-stop is never attributed to the app; an ask right
after a user-like tap on a feature that needs the permission is marked user-triggered.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crawler.detectors.vocabulary import Vocabulary, load_vocabulary
from crawler.perceive.scene import ACTION_ROLES
from crawler.trace import (
    Act,
    ActionType,
    Event,
    EventType,
    Obs,
    Permissions,
    Recovery,
    RecoveryType,
    SceneKind,
    Step,
    StepKind,
    Trace,
)

DENY_ROLES = ("deny", "deny_dont_ask")
FEATURE_TYPES = (ActionType.TAP, ActionType.LONG_TAP, ActionType.TEXT, ActionType.SWIPE)
LAUNCH_TYPES = (ActionType.LAUNCH, ActionType.RELAUNCH)
DIED_EVENTS = (EventType.PROC_DIED, EventType.APP_DIED, EventType.KILL)
DIALOG_ROLES = frozenset(ACTION_ROLES) | {"consent_checkbox"}
DIALOG_LAG_S = 0.5  # a dialog observed this little before the request's logcat line is still that request's dialog
LAUNCH_ATTRIBUTION_S = 10.0  # a proc_start this soon after our launch action is that launch's process


def is_feature(act: Act) -> bool:
    """A user-like action on an app screen that is not an answer to a dialog: it may need a permission."""
    return (act.type in FEATURE_TYPES and act.user_like and act.scene in (SceneKind.APP, "")
            and act.role not in DIALOG_ROLES)


@dataclass(frozen=True)
class Denial:
    seq: int
    t: float
    group: str
    dialog_seq: int | None  # the observation that showed the dialog
    dont_ask: bool


@dataclass(frozen=True)
class Ask:
    """The app asking for a permission group: a system dialog, a silently suppressed request, or its own nag."""

    seq: int
    t: float
    group: str
    how: str  # dialog | suppressed | nag
    launch: int  # 1-based index of the launch it happened in (0 = before any launch)
    user_triggered: bool
    trigger_seq: int | None  # the user action that caused it, when user-triggered
    batch_start: bool  # False when it follows another ask of the same request batch with no app screen between


@dataclass(frozen=True)
class Launch:
    seq: int
    t: float
    by: str  # crawler | self
    cold: bool
    reason: str


@dataclass(frozen=True)
class AppExit:
    type: str  # died | backgrounded | crashed
    t: float
    seq: int
    evidence: tuple[int, ...]
    front_package: str
    via: tuple[int, ...]  # crawler taps we passed through (forced dialogs)


@dataclass
class Timeline:
    trace: Trace
    vocab: Vocabulary = field(default_factory=load_vocabulary)
    user_trigger_window_s: float = 5.0

    def __post_init__(self) -> None:
        app = self.trace.app
        self.package: str = str(app.get("package", ""))
        self.app_version: str = str(app.get("version_name", "") or app.get("version_code", "") or "")
        self.steps: list[Step] = list(self.trace.steps)
        self.seqs = [s.seq for s in self.steps]
        self.by_seq = {s.seq: s for s in self.steps}
        self.run_start_t = self.steps[0].t if self.steps else 0.0
        self.run_end_t = max((s.t for s in self.steps), default=0.0)
        self.observations = list(self.trace.observations())
        self.actions = list(self.trace.actions())
        self._obs_seqs = [o.seq for o in self.observations]
        self._act_seqs = [a.seq for a in self.actions]
        self.app_uids = self._app_uids()
        self.launchers = set(self.vocab.launchers) | self._inferred_launchers()
        self.launch_actions = self._launch_actions()
        self.denials = self._denials()
        self.asks = self._asks()
        self.launches = self._launches()

    # -- identity ----------------------------------------------------------------------------------------------
    def is_app(self, package: str) -> bool:
        return bool(package) and (package == self.package or package.startswith(self.package + ":"))

    def is_caller_app(self, event: dict[str, Any]) -> bool:
        if event.get("caller_package"):
            return self.is_app(str(event["caller_package"]))
        return event.get("caller_uid") is not None and event.get("caller_uid") in self.app_uids

    def is_permission_ui(self, obs: Obs) -> bool:
        return obs.kind == SceneKind.PERMISSION_DIALOG or obs.package in self.vocab.permission_controllers

    def is_away(self, obs: Obs) -> bool:
        """Something other than the app (or a dialog it caused) is in front."""
        if obs.app_in_front or self.is_app(obs.package) or not obs.package:
            return False
        return not self.is_permission_ui(obs) and obs.kind != SceneKind.SYSTEM_DIALOG

    def is_third_party(self, package: str) -> bool:
        return bool(package) and not self.is_app(package) and package not in self.launchers \
            and package not in self.vocab.system_packages and package not in self.vocab.permission_controllers

    # -- navigation --------------------------------------------------------------------------------------------
    def step(self, seq: int) -> Step:
        return self.by_seq[seq]

    def obs_before(self, seq: int) -> Obs | None:
        i = bisect.bisect_left(self._obs_seqs, seq)
        return self.observations[i - 1] if i > 0 else None

    def obs_after(self, seq: int) -> Obs | None:
        i = bisect.bisect_right(self._obs_seqs, seq)
        return self.observations[i] if i < len(self.observations) else None

    def action_before(self, seq: int) -> Act | None:
        i = bisect.bisect_left(self._act_seqs, seq)
        return self.actions[i - 1] if i > 0 else None

    def action_after(self, seq: int) -> Act | None:
        i = bisect.bisect_right(self._act_seqs, seq)
        return self.actions[i] if i < len(self.actions) else None

    def obs_between(self, first: int, last: int) -> list[Obs]:
        lo, hi = bisect.bisect_right(self._obs_seqs, first), bisect.bisect_left(self._obs_seqs, last)
        return self.observations[lo:hi]

    def actions_between(self, first: int, last: int) -> list[Act]:
        lo, hi = bisect.bisect_right(self._act_seqs, first), bisect.bisect_left(self._act_seqs, last)
        return self.actions[lo:hi]

    def launch_index(self, seq: int) -> int:
        return sum(1 for a in self.launch_actions if a.seq <= seq)

    def screenshots(self, seqs: list[int]) -> list[str]:
        shots: list[str] = []
        for seq in sorted(set(seqs)):
            step = self.by_seq.get(seq)
            png = Obs.of(step).png if step is not None and step.kind == StepKind.OBSERVATION else None
            if png and png not in shots:
                shots.append(str(png))
        return shots

    def events(self, *types: str) -> list[Event]:
        return list(self.trace.events(*types))

    def permission_flags_before(self, seq: int) -> dict[str, set[str]]:
        """group -> flags (union over its permissions) from the latest `permissions` step before seq."""
        latest = None
        for s in self.steps:
            if s.seq >= seq:
                break
            if s.kind == StepKind.PERMISSIONS:
                latest = s
        groups: dict[str, set[str]] = {}
        for name, state in (Permissions.of(latest).permissions if latest else {}).items():
            group = self.vocab.group_of(name)
            if group:
                groups.setdefault(group, set()).update(str(f) for f in state.get("flags") or [])
        return groups

    # -- exits -------------------------------------------------------------------------------------------------
    def exit_after(self, seq: int, window_s: float, pass_through: Callable[[Act], bool] | None = None) -> AppExit | None:
        """How the app left within window_s after step seq, before the crawler did anything but wait.

        crashed: a crash event (or a crash recovery); died: the process ended (proc_died / kill / app_died event, or
        a died recovery); backgrounded: an observation with the launcher or another app in front."""
        t0 = self.by_seq[seq].t
        found: list[tuple[str, float, int, str]] = []
        via: list[int] = []
        for s in self.steps[bisect.bisect_right(self.seqs, seq):]:
            if s.kind == StepKind.RUN_END:
                break
            if s.kind == StepKind.ACTION:
                act = Act.of(s)
                if act.type == ActionType.WAIT:
                    continue
                if pass_through is not None and pass_through(act):
                    via.append(s.seq)
                    continue
                break
            if s.t - t0 > window_s:
                if s.kind == StepKind.OBSERVATION:
                    break
                continue
            kind = _exit_evidence(self, s)
            if kind:
                front = Obs.of(s).package if s.kind == StepKind.OBSERVATION else ""
                found.append((kind, s.t, s.seq, front))
        if not found:
            return None
        kinds = {k for k, *_ in found}
        exit_type = "crashed" if "crashed" in kinds else "died" if "died" in kinds else "backgrounded"
        first = min(found, key=lambda f: (f[1], f[2]))
        front = next((f[3] for f in found if f[3]), "")
        return AppExit(exit_type, first[1], first[2], tuple(sorted(f[2] for f in found)), front, tuple(via))

    # -- derived lists -----------------------------------------------------------------------------------------
    def _app_uids(self) -> set[int]:
        uids = {e.uid for e in self.events(EventType.PROC_START) if e.package == self.package}
        app = self.trace.app
        if app.get("uid") is not None:
            uids.add(app.get("uid"))
        return {u for u in uids if isinstance(u, int)}

    def _inferred_launchers(self) -> set[str]:
        """The package in front right after our `home` press is the launcher on this device."""
        found = set()
        for act in self.actions:
            if act.type == ActionType.HOME:
                obs = self.obs_after(act.seq)
                nxt = self.action_after(act.seq)
                if obs and (nxt is None or obs.seq < nxt.seq) and obs.package and not self.is_app(obs.package):
                    found.add(obs.package)
        return found

    def _launch_actions(self) -> list[Act]:
        """Our launches. A strategy's `relaunch` decision is recorded, then the launch it performs: count one."""
        launches = []
        for act in self.actions:
            if act.type not in LAUNCH_TYPES:
                continue
            if act.type == ActionType.RELAUNCH:
                nxt = self.action_after(act.seq)
                if nxt is not None and nxt.type == ActionType.LAUNCH:
                    continue
            launches.append(act)
        return launches

    def _denials(self) -> list[Denial]:
        denials = []
        for act in self.actions:
            if act.role in DENY_ROLES and act.scene == SceneKind.PERMISSION_DIALOG:
                before = self.obs_before(act.seq)
                dialog = before if before is not None and before.kind == SceneKind.PERMISSION_DIALOG else None
                group = act.permission or (dialog.permission if dialog else None) or "unknown"
                denials.append(Denial(act.seq, act.t, group, dialog.seq if dialog else None,
                                      act.role == "deny_dont_ask"))
        return denials

    def _trigger(self, seq: int, t: float, group: str) -> Act | None:
        """The user's feature action that caused an ask at seq, if the ask came right after one."""
        act = self.action_before(seq)
        if act is None or t - act.t > self.user_trigger_window_s:
            return None
        if act.scene == SceneKind.RATIONALE_DIALOG and act.role == "grant" and act.permission in (group, None, ""):
            return act  # the user let the app's own explanation go on to the request
        # Only a control that names the feature (扫一扫 for the camera, 定位 for location...) asks for it: a tab, a
        # list row or a switch that happens to come before the request does not make it the user's doing.
        if not is_feature(act) or group not in self.vocab.groups_named(act.target_text):
            return None
        return act

    def _asks(self) -> list[Ask]:
        asks: list[Ask] = []
        prev: Obs | None = None
        for s in self.steps:
            if s.kind == StepKind.OBSERVATION:
                obs = Obs.of(s)
                if obs.kind in (SceneKind.PERMISSION_DIALOG, SceneKind.RATIONALE_DIALOG):
                    group = obs.permission or self._nag_group(obs)
                    if group and self._new_episode(prev, obs):
                        asks.append(self._ask(obs.seq, obs.t, group, "dialog" if obs.kind == SceneKind.PERMISSION_DIALOG
                                              else "nag", prev, asks))
                prev = obs
            elif s.kind == StepKind.EVENT:
                event = Event.of(s)
                if event.type == EventType.PERMISSION_REQUEST and self.is_caller_app(event.data) \
                        and not self._dialog_follows(event):
                    asks.append(self._ask(s.seq, s.t, self._suppressed_group(event), "suppressed", prev, asks))
        return asks

    def _nag_group(self, obs: Obs) -> str | None:
        named = self.vocab.groups_named(" ".join(obs.text))
        return next(iter(named)) if len(named) == 1 else None

    def _new_episode(self, prev: Obs | None, obs: Obs) -> bool:
        if prev is None or prev.kind != obs.kind or (prev.permission or "") != (obs.permission or ""):
            return True
        # the same dialog seen again: a new ask only if we answered the previous one (not if we only waited)
        return any(a.role and a.type != ActionType.WAIT for a in self.actions_between(prev.seq, obs.seq))

    def _ask(self, seq: int, t: float, group: str, how: str, prev: Obs | None, asks: list[Ask]) -> Ask:
        trigger = self._trigger(seq, t, group)
        batch_start = True
        last = asks[-1] if asks else None
        between = self.actions_between(last.seq, seq) if last else []
        if last is not None and prev is not None and prev.seq >= last.seq and self.is_permission_ui(prev) \
                and all(a.scene == SceneKind.PERMISSION_DIALOG for a in between) and how != "nag":
            # the next dialog of the same requestPermissions() batch: same cause as the first one
            batch_start = False
            if trigger is None and last.trigger_seq is not None:
                trigger = Act.of(self.by_seq[last.trigger_seq])
        return Ask(seq, t, group, how, self.launch_index(seq), trigger is not None,
                   trigger.seq if trigger else None, batch_start)

    def _dialog_follows(self, event: Event) -> bool:
        """Did the request bring up a system dialog? The next observation before our next action shows one, or
        (logcat lagging behind the screen) the observation just before the event already did, shown after it."""
        before, nxt = self.obs_before(event.seq), self.action_after(event.seq)
        if before is not None and before.kind == SceneKind.PERMISSION_DIALOG and before.t >= event.t - DIALOG_LAG_S \
                and not self.actions_between(before.seq, event.seq):
            return True
        for obs in self.observations[bisect.bisect_right(self._obs_seqs, event.seq):]:
            if nxt is not None and obs.seq > nxt.seq and nxt.type != ActionType.WAIT:
                return False
            if obs.kind == SceneKind.PERMISSION_DIALOG:
                return True
        return False

    def _suppressed_group(self, event: Event) -> str:
        for key in ("permission", "permissions"):
            names = event.data.get(key)
            names = [names] if isinstance(names, str) else names or []
            groups = sorted({g for g in (self.vocab.group_of(str(n)) for n in names) if g})
            if len(groups) == 1:
                return groups[0]
        fixed = sorted(g for g, flags in self.permission_flags_before(event.seq).items() if "USER_FIXED" in flags)
        return fixed[0] if len(fixed) == 1 else "unknown"

    def _launches(self) -> list[Launch]:
        launches = [Launch(a.seq, a.t, "crawler", a.cold, a.type) for a in self.launch_actions]
        for e in self.events(EventType.PROC_START):
            if e.package != self.package:
                continue  # other processes of the app (":push") start while it is in use; not a launch
            act = self.action_before(e.seq)
            ours = act is not None and act.type in LAUNCH_TYPES and abs(e.t - act.t) <= LAUNCH_ATTRIBUTION_S
            if not ours:
                launches.append(Launch(e.seq, e.t, "self", True, e.reason or "unknown"))
        return sorted(launches, key=lambda launch: launch.seq)

    def in_use_at(self, seq: int) -> bool:
        """The app was in front at the latest observation before seq and we have not sent it away since."""
        obs = self.obs_before(seq)
        if obs is None or not obs.app_in_front:
            return False
        return not any(a.type in (ActionType.HOME, ActionType.FORCE_STOP, ActionType.KILL_BACKGROUND,
                                  ActionType.CLEAR_DATA)
                       for a in self.actions_between(obs.seq, seq))


RECOVERY_EXITS = {RecoveryType.DIED: "died", RecoveryType.CRASHED: "crashed", RecoveryType.LEFT_APP: "backgrounded"}


def _exit_evidence(tl: Timeline, s: Step) -> str | None:
    if s.kind == StepKind.EVENT:
        event = Event.of(s)
        if event.package != tl.package:
            return None
        if event.type == EventType.CRASH:
            return "crashed"
        if event.type in DIED_EVENTS:
            return "died"
    elif s.kind == StepKind.RECOVERY:
        return RECOVERY_EXITS.get(Recovery.of(s).type)
    elif s.kind == StepKind.OBSERVATION and tl.is_away(Obs.of(s)):
        return "backgrounded"
    return None
