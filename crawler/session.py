"""The crawl loop: one app on one device. Observe, perceive, let the strategy choose, act, settle, record.

Everything the loop sees and does goes into the trace (crawler.trace) as it happens, so a crawl killed at any moment
leaves a run that opens. Recoveries are recorded too: the app left the foreground, died, crashed, hung, or the
exploration is stuck. Two rules make the experiment sound:
- after a refusal (deny, refuse consent) the loop only watches, for at least the quit window, before acting again;
- a cold relaunch after the app quit is part of the experiment (does it ask again?), not a reset.
After exploration, the app is left as a user leaves it (home) and its process is killed the way Android reclaims
memory (`am kill`, which unlike force-stop leaves broadcasts working), and the loop idles, watching for self-starts.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from crawler.android.logcat import LogcatReader
from crawler.apk import ApkFacts, read_apk_facts
from crawler.apk.installed import installed_apk_facts
from crawler.crawl import CrawlOptions
from crawler.device import AndroidDevice, DeviceError, DeviceLost, Snapshot
from crawler.hittest import describe_hit
from crawler.perceive import perceive
from crawler.perceive.ads import outside_point, structural_close
from crawler.perceive.scene import Control, Scene
from crawler.perceive.vision import BadImage, decode, is_blank
from crawler.screen import BadHierarchy, parse_hierarchy
from crawler.state import state_key
from crawler.store import RunStore
from crawler.trace import ActedBy, ActionType, EndReason, EventType, RecoveryType, SceneKind, StepKind
from crawler.version import TOOL
from strategies.base import Decision, History, Strategy, StrategyContext
from strategies.widgets import widgets_of

log = logging.getLogger(__name__)

REFUSAL_ROLES = ("deny", "deny_dont_ask", "refuse")
STUCK_AFTER = 8  # actions that left the screen as it was
ESCALATIONS = ("close", "outside", "back", "relaunch")
ESCAPE_ROLES = ("close", "skip", "not_now", "refuse", "deny", "deny_dont_ask", "browse")
STUCK_WATCH_S = 5.0  # device seconds per look at a screen every escalation failed on
SETTINGS_PACKAGE = "com.android.settings"


@dataclass
class Observation:
    seq: int
    t: float
    package: str  # foreground package
    activity: str
    pid: int | None
    scene: Scene
    state: str
    in_app: bool  # the app, or a dialog shown for it, is in front
    widgets: list = field(default_factory=list)
    hierarchy: Any = None  # the parsed dump perception read (where a tap lands is decided on it)


class CrawlEnded(Exception):
    def __init__(self, reason: EndReason, detail: str = ""):
        super().__init__(detail or reason)
        self.reason, self.detail = reason, detail


class Session:
    def __init__(self, device: AndroidDevice, package: str, strategy: Strategy, store: RunStore,
                 options: CrawlOptions | None = None, ocr=None, apk: ApkFacts | None = None,
                 on_progress: Callable[[dict], None] | None = None, start_links: dict[str, Any] | None = None):
        self.device, self.package, self.strategy, self.store = device, package, strategy, store
        self.options = options or CrawlOptions()
        self.ocr = ocr
        self.apk = apk
        self.start_links = start_links or {}  # recorded in run_start, e.g. {"reproduces": {run, finding, ...}}
        self.on_progress = on_progress or (lambda info: None)
        self.history = History()
        self.logcat: LogcatReader | None = None
        self.t0 = 0.0
        self.steps = 0
        self.last: Observation | None = None
        self.last_pid: int | None = None
        self.last_permissions: dict | None = None
        self.pending_edge: tuple[str, str] | None = None  # (state, widget) of the last exploration tap
        self.app_exits = 0  # times the app left the foreground by itself (not after our back/home)
        self.warned_blank = False
        self.warned_pixels = False  # an unusable screenshot was reported (recorded in every observation's scene)
        self.failure: str | None = None  # a crash or ANR of the app seen in logcat, until its dialog is answered
        self.blank_by_digest: dict[bytes, bool] = {}
        self.escalations: dict[str, int] = {}  # state -> escalation steps taken on it when stuck
        self.exhausted: set[str] = set()  # states every escalation failed on: only watched

    # -- recording --------------------------------------------------------------------------------------------
    def _record(self, kind: StepKind, t: float, data: dict) -> int:
        return self.store.append(kind, t, data).seq

    def _drain_events(self) -> None:
        if self.logcat is None:
            return
        if not self.logcat.sync(lambda marker: self.device.shell(f"log -t naysayer {marker}")) and not self.logcat.error:
            log.warning("%s: logcat did not catch up in time; some events may be recorded late", self.device.serial)
        for event in self.logcat.drain():
            if event.t >= self.t0:  # lines from before this run (another app's crawl) are not this run's evidence
                self._record(StepKind.EVENT, event.t, event.to_json())
                if event.package == self.package and event.type in (EventType.CRASH, EventType.ANR):
                    self.failure = event.type
        if self.logcat.error:
            raise DeviceLost(f"{self.device.serial}: {self.logcat.error}")

    def _record_permissions(self, t: float) -> None:
        state = self.device.package_state(self.package)
        if state.permissions != self.last_permissions:
            self.last_permissions = state.permissions
            self._record(StepKind.PERMISSIONS, t, {"package": self.package, "permissions": state.permissions})

    # -- observing --------------------------------------------------------------------------------------------
    def _settled_snapshot(self) -> tuple[Snapshot, Any]:
        """Poll until two hierarchies in a row have the same structure (bounded by settle_max device seconds)."""
        previous_key, start, bad = None, None, 0
        while True:
            snap = self.device.snapshot(self.package, screenshot=False)
            start = snap.t if start is None else start
            try:
                hierarchy = parse_hierarchy(snap.xml)
            except BadHierarchy as exc:
                bad += 1
                self._record(StepKind.RECOVERY, snap.t, {"type": RecoveryType.BAD_HIERARCHY, "detail": str(exc)[:300]})
                if bad >= 3:
                    raise CrawlEnded(EndReason.ERROR, f"the device keeps returning an unusable hierarchy: {exc}")
                self.device.wait(1.0)
                continue
            key = state_key(hierarchy, None, snap.foreground.package if snap.foreground else "")
            if key == previous_key or snap.t - start >= self.options.settle_max:
                return snap, hierarchy
            previous_key = key
            self.device.wait(self.options.settle_poll)

    def observe(self, record_unchanged: bool = True) -> Observation:
        snap, hierarchy = self._settled_snapshot()
        png = self.device.screenshot()
        blank = png is not None and self._blank(png)
        if blank and not self.warned_blank:
            self.warned_blank = True
            log.warning("%s: the screenshot is black (a secure window?): reading the screen from its hierarchy only",
                        self.device.serial)
        scene = perceive(hierarchy, None if blank else png, self.ocr,
                         activity=snap.foreground.activity if snap.foreground else "")
        if png is None and not scene.pixel_error:  # the device sent something that is not a PNG (or nothing)
            scene.pixel_error = "screenshot: the device returned no PNG image (empty, or not an image)"
        if scene.pixel_error and not self.warned_pixels:
            self.warned_pixels = True
            log.warning("%s: %s: reading the screen from its hierarchy only", self.device.serial, scene.pixel_error)
        fg_package = snap.foreground.package if snap.foreground else ""
        state = state_key(hierarchy, scene, fg_package, activity=snap.foreground.activity if snap.foreground else "")
        # A system dialog in front of the app (a permission request, "keeps stopping") is still the app's turn:
        # on every ROM the dialog belongs to another package (com.android.permissioncontroller, com.lbe.security.miui...).
        in_app = fg_package == self.package or (
            scene.kind in (SceneKind.PERMISSION_DIALOG, SceneKind.SYSTEM_DIALOG)
            and (self.last is None or self.last.in_app))
        widgets = widgets_of(hierarchy, self.package) if fg_package == self.package else []
        self.history.known[state].update(w.identity for w in widgets)
        if self.pending_edge:
            before, widget = self.pending_edge
            self.history.edges[before][widget] = state
            self.pending_edge = None
        changed = self.last is None or state != self.last.state or fg_package != self.last.package
        self._note_request(scene, changed)
        self._note_death(snap)
        self._drain_events()
        if not changed and not record_unchanged and self.last is not None:
            self.last.t, self.last.pid, self.last.hierarchy = snap.t, snap.pid, hierarchy
            return self.last
        png_sha = self.store.put_blob(png) if png else None
        xml_sha = self.store.put_blob(snap.xml.encode("utf-8"))
        seq = self._record(StepKind.OBSERVATION, snap.t, {
            "package": fg_package, "activity": snap.foreground.activity if snap.foreground else "",
            "pid": snap.pid, "state": state, "scene": scene.to_json(), "xml": xml_sha, "png": png_sha,
            "app_in_front": in_app, "screen_blank": blank,
        })
        self.last = Observation(seq, snap.t, fg_package, snap.foreground.activity if snap.foreground else "",
                                snap.pid, scene, state, in_app, widgets, hierarchy)
        if fg_package == self.package and widgets and not self.history.root_state:
            self.history.root_state = state
        return self.last

    def _blank(self, png: bytes) -> bool:
        """A black screenshot (FLAG_SECURE), decided once per distinct picture: crawls revisit the same screens."""
        digest = hashlib.sha256(png).digest()
        if digest not in self.blank_by_digest:
            try:
                self.blank_by_digest[digest] = is_blank(decode(png))
            except BadImage:
                self.blank_by_digest[digest] = False
        return self.blank_by_digest[digest]

    def _note_request(self, scene: Scene, changed: bool) -> None:
        """Count a system permission dialog once per appearance (a new dialog, or another group)."""
        if scene.kind != SceneKind.PERMISSION_DIALOG:
            return
        previous = self.last.scene if self.last else None
        if changed or previous is None or previous.kind != SceneKind.PERMISSION_DIALOG \
                or previous.permission != scene.permission:
            self.history.requests[scene.permission or "unknown"] += 1

    def _note_death(self, snap: Snapshot) -> None:
        if self.last_pid is not None and snap.pid is None:
            self._record(StepKind.EVENT, snap.t, {"type": EventType.APP_DIED, "package": self.package,
                                                  "pid": self.last_pid,
                                           "source": "poll"})
        self.last_pid = snap.pid

    # -- acting -----------------------------------------------------------------------------------------------
    def _action(self, t: float, data: dict) -> int:
        self.steps += 1
        seq = self._record(StepKind.ACTION, t, data)
        self.on_progress({"steps": self.steps, "t": t - self.t0, "budget": self.options.budget,
                          "what": data.get("reason", data.get("type", ""))})
        return seq

    def launch(self, cold: bool, reason: str) -> None:
        t = self.device.now()
        self._action(t, {"type": ActionType.LAUNCH, "cold": cold, "reason": reason, "user_like": True,
                         "by": ActedBy.SESSION})
        self.history.launches += 1
        self.history.root_state = ""
        self.device.start(self.package)

    def act(self, decision: Decision, obs: Observation) -> None:
        data: dict[str, Any] = {
            "type": decision.type, "role": decision.role, "scene": obs.scene.kind, "reason": decision.reason[:300],
            "user_like": decision.user_like, "by": ActedBy.STRATEGY, "state": obs.state,
        }
        if obs.scene.kind in (SceneKind.PERMISSION_DIALOG, SceneKind.RATIONALE_DIALOG):
            data["permission"] = obs.scene.permission
        if decision.widget:
            data["widget"] = decision.widget
        if decision.control is not None:
            c = decision.control
            data["target"] = {"bounds": list(c.bounds), "text": c.text[:200], "resource_id": c.resource_id[:200]}
            if decision.type in (ActionType.TAP, ActionType.LONG_TAP, ActionType.TEXT) and obs.hierarchy is not None:
                # What a tap at that point reaches on the screen as it was read: a window or an overlay above the
                # target takes the tap, and the trace says so.
                data["hit"] = describe_hit(obs.hierarchy, *c.center)
        if decision.type == ActionType.WAIT:
            data["seconds"] = decision.seconds
        if decision.type == ActionType.TEXT:
            data["text"] = decision.text
        if decision.type == ActionType.SWIPE:
            data["direction"] = decision.direction or "up"
        self._action(obs.t, data)
        self._perform(decision)
        if decision.widget:
            self.pending_edge = (obs.state, decision.widget)

    def _perform(self, decision: Decision) -> None:
        perform = self.PERFORM.get(decision.type)
        if perform is not None:
            perform(self, decision)

    def _tap(self, decision: Decision) -> None:
        self.device.tap(*decision.control.center)

    def _long_tap(self, decision: Decision) -> None:
        self.device.long_tap(*decision.control.center)

    def _type_text(self, decision: Decision) -> None:
        self._tap(decision)
        self.device.text(decision.text)

    def _swipe(self, decision: Decision) -> None:
        w, h = self.device.screen_size()
        dy = {"up": -1, "down": 1}.get(decision.direction or "up", 0)
        self.device.swipe(w // 2, h // 2, w // 2, h // 2 + dy * h // 4, 0.2)

    def _relaunch(self, decision: Decision) -> None:
        if decision.reason.startswith("stuck") and self.device.pid(self.package) is not None:
            # A cold relaunch out of a screen nothing else left: the app is stopped first, and the trace says so.
            self._action(self.device.now(), {"type": ActionType.FORCE_STOP, "reason": decision.reason,
                                             "user_like": False, "by": ActedBy.SESSION})
            self.device.force_stop(self.package)
        self.launch(cold=self.device.pid(self.package) is None, reason=decision.reason)

    # How each decided action is done on the device (stop ends the crawl before this; the session's own launch,
    # clear_data and kill_background are never decided by a strategy).
    PERFORM: ClassVar[dict[ActionType, Callable[[Session, Decision], None]]] = {
        ActionType.TAP: _tap,
        ActionType.LONG_TAP: _long_tap,
        ActionType.TEXT: _type_text,
        ActionType.BACK: lambda self, decision: self.device.back(),
        ActionType.HOME: lambda self, decision: self.device.home(),
        ActionType.WAIT: lambda self, decision: self.device.wait(decision.seconds),
        ActionType.SWIPE: _swipe,
        ActionType.RELAUNCH: _relaunch,
    }

    def watch(self, since: float) -> None:
        """After a refusal: only look, for the quit window, unless the app is already gone."""
        while True:
            self.device.wait(self.options.watch_poll)
            obs = self.observe(record_unchanged=False)
            if obs.pid is None or not obs.in_app or obs.t - since >= self.options.quit_window:
                return

    # -- recovering -------------------------------------------------------------------------------------------
    def recover(self, obs: Observation, last_action: dict | None) -> bool:
        """Bring the app back when it is not in front. True if the loop acted."""
        if obs.in_app:
            return False
        if obs.package == SETTINGS_PACKAGE and last_action and last_action.get("role") == "settings":
            self._record(StepKind.RECOVERY, obs.t, {"type": RecoveryType.LEFT_APP,
                                                    "detail": "returning from the settings page we opened"})
            self._action(obs.t, {"type": ActionType.BACK, "reason": "return from settings", "user_like": True,
                                 "by": ActedBy.SESSION})
            self.device.back()
            return True
        died = obs.pid is None
        ours = bool(last_action) and last_action.get("type") in (ActionType.BACK, ActionType.HOME)
        self._record(StepKind.RECOVERY, obs.t, {
            "type": RecoveryType.DIED if died else RecoveryType.LEFT_APP,
            "detail": f"{obs.package or 'nothing'} in front" + (", app process gone" if died else "")
                      + (" after our back press" if ours else ""),
        })
        if ours:
            self.history.exit_states.add(last_action.get("state", ""))
        else:
            self.app_exits += 1
        if self.app_exits > self.options.max_relaunches:
            raise CrawlEnded(EndReason.DONE, f"the app left the foreground {self.app_exits} times")
        self.launch(cold=died, reason="relaunch after the app " + ("quit" if died else "left the foreground"))
        return True

    def stuck(self, obs: Observation, repeats: int) -> Decision | None:
        """The same screen after STUCK_AFTER actions (a modal the strategy cannot read, a page that ignores us):
        escalate, one step per further repeat, each recorded: its close control, a tap outside it, back, then a cold
        relaunch. A screen that survives them all is only watched from then on (the app may still do things by
        itself: pop-ups, prompts), instead of being pressed back until the step limit."""
        if obs.state in self.exhausted:
            return Decision(ActionType.WAIT, seconds=STUCK_WATCH_S, reason="stuck: every escalation tried here; watch")
        if repeats < STUCK_AFTER:
            return None
        level = self.escalations.get(obs.state, 0)
        while level < len(ESCALATIONS):
            name = ESCALATIONS[level]
            level += 1
            self.escalations[obs.state] = level
            decision = self._escalation(name, obs)
            if decision is None:
                continue
            self._record(StepKind.RECOVERY, obs.t, {
                "type": RecoveryType.STUCK, "escalation": name,
                "detail": f"same screen after {repeats} actions: {decision.reason}"[:300]})
            return decision
        self.exhausted.add(obs.state)
        self._record(StepKind.RECOVERY, obs.t, {
            "type": RecoveryType.STUCK, "escalation": "watch",
            "detail": f"same screen after {repeats} actions and every escalation: watching it from now on"})
        return Decision(ActionType.WAIT, seconds=STUCK_WATCH_S, reason="stuck: every escalation tried here; watch")

    @staticmethod
    def _unnamed_modal(obs: Observation) -> bool:
        if obs.scene.kind != SceneKind.APP or obs.hierarchy is None or not obs.hierarchy.windows:
            return False
        return outside_point(obs.hierarchy, None) is not None

    def _escalation(self, name: str, obs: Observation) -> Decision | None:
        scene = obs.scene
        if name == "close":
            role = next((r for r in ESCAPE_ROLES if r in scene.actions), None)
            if role is not None:
                return Decision(ActionType.TAP, role=role, control=scene.actions[role],
                                reason=f"stuck: tap its {role} control")
            control = structural_close(obs.hierarchy) if obs.hierarchy is not None else None
            if control is not None:
                return Decision(ActionType.TAP, control=control, reason="stuck: tap a close control found by its shape")
            return None
        if name == "outside":
            point = outside_point(obs.hierarchy, scene.dialog_bounds) if obs.hierarchy is not None else None
            if point is None:
                return None
            x, y = point
            return Decision(ActionType.TAP, control=Control((x - 1, y - 1, x + 1, y + 1)),
                            reason="stuck: tap outside the dialog")
        if name == "back":
            return Decision(ActionType.BACK, reason="stuck: same screen after many actions", user_like=True)
        return Decision(ActionType.RELAUNCH, reason="stuck: cold relaunch", user_like=False)

    # -- the run ----------------------------------------------------------------------------------------------
    def _start(self) -> None:
        d = self.device
        info = d.info()
        pkg = d.package_state(self.package)
        self.t0 = d.now()
        self._record(StepKind.RUN_START, self.t0, {
            "device": info.to_json(),
            "app": {"package": self.package, "version_name": pkg.version_name, "version_code": pkg.version_code,
                    **({"version_name_truncated": True} if pkg.version_name_truncated else {}),
                    **(self.apk or ApkFacts("")).to_json()},
            "tool": TOOL, "strategy": self.strategy.name, "seed": self.options.seed,
            "settings": self.options.to_json(), **self.start_links,
        })
        if d.pid(self.package) is not None:
            d.force_stop(self.package)
        if not self.options.keep_data:
            self._action(self.t0, {"type": ActionType.CLEAR_DATA, "reason": "start from a fresh install state",
                                   "user_like": False, "by": ActedBy.SESSION})
            d.clear_data(self.package)
        self.logcat = d.logcat(clear=True)
        self._record_permissions(self.t0)
        self.launch(cold=True, reason="first launch")

    def _explore(self) -> None:
        repeats, last_action, before = 0, None, None
        while True:
            obs = self.observe()
            # Waiting in front of an app dialog nobody named (the strategy tried its buttons and now dwells) is being
            # stuck too; waiting on a page (for timers, self-starts) or on a countdown ad is not.
            acted = last_action is not None and (last_action["type"] != ActionType.WAIT or self._unnamed_modal(obs))
            repeats = repeats + 1 if acted and obs.state == before else 0
            if obs.t - self.t0 >= self.options.budget:
                raise CrawlEnded(EndReason.BUDGET, f"{self.options.budget:.0f} s of device time used")
            if self.steps >= self.options.steps:
                raise CrawlEnded(EndReason.STEPS, f"{self.options.steps} steps taken")
            if self.recover(obs, last_action):
                last_action, repeats = None, 0
                continue
            if obs.scene.kind == SceneKind.SYSTEM_DIALOG and self.failure:
                self._record(StepKind.RECOVERY, obs.t, {"type": RecoveryType.CRASHED if self.failure == EventType.CRASH
                                                        else RecoveryType.ANR,
                                                 "detail": " / ".join(obs.scene.text[-3:])[:300]})
                self.failure = None
            ctx = StrategyContext(self.package, obs.scene, obs.state, obs.widgets, obs.t, self.history, obs.in_app)
            decision = self.stuck(obs, repeats) or self.strategy.choose(ctx)
            if decision.type == ActionType.STOP:
                raise CrawlEnded(EndReason.DONE, decision.reason)
            before = obs.state
            self.act(decision, obs)
            last_action = {"role": decision.role, "type": decision.type, "state": obs.state}
            if obs.scene.kind == SceneKind.PERMISSION_DIALOG:
                self._record_permissions(obs.t)
            if decision.role in REFUSAL_ROLES:
                self.watch(obs.t)
                app_gone = self.last is not None and (self.last.pid is None or not self.last.in_app)
                if app_gone and obs.scene.kind == SceneKind.CONSENT_DIALOG:
                    self.history.consent_refusal_exited = True

    def _idle(self) -> None:
        """Leave the app as a user would and watch for the process starting by itself."""
        if self.options.idle <= 0:
            return
        d = self.device
        t = d.now()
        self._action(t, {"type": ActionType.HOME, "reason": "leave the app, then watch for self-starts",
                         "user_like": True, "by": ActedBy.SESSION})
        d.home()
        self._action(t, {"type": ActionType.KILL_BACKGROUND, "reason": "reclaim the background process as Android does",
                         "user_like": False, "by": ActedBy.SESSION})
        d.shell(f"am kill {self.package}")
        end = t + self.options.idle
        while True:
            d.wait(self.options.idle_poll)
            now = d.now()
            self._drain_events()
            self.on_progress({"steps": self.steps, "t": now - self.t0, "budget": self.options.budget,
                              "what": "idle: watching for self-starts"})
            if now >= end:
                break
        self._record_permissions(d.now())

    def run(self) -> tuple[str, str]:
        """Crawl until the budget, the steps or the exploration run out. Returns (end reason, detail)."""
        reason, detail = EndReason.DONE, ""
        try:
            self._start()
            try:
                self._explore()
            except CrawlEnded as ended:
                reason, detail = ended.reason, ended.detail
                if ended.reason == EndReason.ERROR:
                    raise
            self._idle()
        except CrawlEnded as ended:
            reason, detail = ended.reason, ended.detail
        except DeviceLost as exc:
            reason, detail = EndReason.DEVICE_LOST, str(exc)
        except DeviceError as exc:
            reason, detail = EndReason.ERROR, str(exc)
        except KeyboardInterrupt:
            reason, detail = EndReason.INTERRUPTED, "stopped by the user"
        finally:
            if self.logcat is not None:
                try:
                    self._drain_events()
                except DeviceError:
                    pass
                self.logcat.stop()
            t = self.last.t if self.last else self.t0
            try:
                t = self.device.now()
            except DeviceError:
                pass
            self._record(StepKind.RUN_END, t, {"reason": reason, "detail": detail[:500], "steps": self.steps,
                                        "seconds": round(t - self.t0, 3)})
        return reason, detail


def preflight(device: AndroidDevice, package: str, apk=None) -> ApkFacts | None:
    """Install the APK if one is given and check the package is there, before a run is created.
    Returns what the run records of the APK: the given one, else the one installed on the device (pulled)."""
    if apk is not None:
        facts = read_apk_facts(apk)
        device.install(apk)
    if not device.is_installed(package):
        raise DeviceError(f"{package}: not installed on {device.serial} (give --apk FILE to install it)")
    return facts if apk is not None else installed_apk_facts(device, package)
