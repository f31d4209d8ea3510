"""The typed trace: its vocabularies are the strings runs have always stored (same rows, same hash chain), and its
read model reads old and partial steps without failing."""

from __future__ import annotations

import sqlite3

from crawler.session import Session
from crawler.store import RunStore
from crawler.trace import (
    Act,
    ActedBy,
    ActionType,
    EndReason,
    Event,
    EventType,
    Obs,
    Permissions,
    Recovery,
    RecoveryType,
    RunEnd,
    SceneKind,
    Step,
    StepKind,
    Trace,
)


def record(root, typed: bool) -> list[tuple]:
    """The same short run, written once with the enums and once with plain strings; its stored rows."""
    k = StepKind if typed else None
    with RunStore.create(root, "typed" if typed else "plain") as store:
        store.append(k.RUN_START if k else "run_start", 1.0, {"app": {"package": "com.example.a"}})
        store.append(k.OBSERVATION if k else "observation", 1.5,
                     {"state": "s1", "scene": {"kind": SceneKind.PERMISSION_DIALOG if typed else "permission_dialog"}})
        store.append(k.ACTION if k else "action", 1.5,
                     {"type": ActionType.TAP if typed else "tap", "by": ActedBy.STRATEGY if typed else "strategy"})
        store.append(k.EVENT if k else "event", 2.0, {"type": EventType.CRASH if typed else "crash"})
        store.append(k.RECOVERY if k else "recovery", 2.0, {"type": RecoveryType.CRASHED if typed else "crashed"})
        store.append(k.RUN_END if k else "run_end", 3.0, {"reason": EndReason.DONE if typed else "done"})
        path = store.path
    with sqlite3.connect(path / "trace.sqlite") as db:
        rows = db.execute("SELECT seq, t, kind, data, prev_hash, hash FROM steps ORDER BY seq").fetchall()
    db.close()
    return rows


def test_enums_store_the_same_strings_and_the_same_hash_chain(tmp_path):
    typed, plain = record(tmp_path, True), record(tmp_path, False)
    assert typed == plain
    assert '"type":"tap"' in typed[2][3] and typed[2][2] == "action"


def test_views_read_what_a_run_recorded():
    steps = [
        Step(1, 1.0, "run_start", {"app": {"package": "com.a", "version_name": "2"}, "device": {"serial": "emu-1"}}),
        Step(2, 1.5, "observation", {"package": "com.a", "activity": ".Main", "pid": 42, "state": "s1", "png": "ab",
                                     "app_in_front": True, "scene": {"kind": "consent_dialog", "text": ["同意"]}}),
        Step(3, 2.0, "action", {"type": "tap", "role": "refuse", "scene": "consent_dialog", "by": "strategy",
                                "state": "s1", "target": {"text": "不同意", "bounds": [1, 2, 3, 4]}}),
        Step(4, 2.5, "event", {"type": "activity_start", "package": "com.b", "component": "com.b/.X", "uid": 10}),
        Step(5, 2.6, "permissions", {"package": "com.a", "permissions": {"android.permission.CAMERA":
                                                                          {"granted": False, "flags": ["USER_SET"]}}}),
        Step(6, 2.7, "recovery", {"type": "left_app", "detail": "launcher in front"}),
        Step(7, 3.0, "run_end", {"reason": "budget", "detail": "300 s", "steps": 2, "seconds": 2.0}),
    ]
    trace = Trace(steps)
    assert (trace.package, trace.device["serial"], trace.end) == ("com.a", "emu-1", RunEnd.of(steps[-1]))
    (obs,) = trace.observations()
    assert (obs.kind, obs.pid, obs.app_in_front, obs.text) == (SceneKind.CONSENT_DIALOG, 42, True, ["同意"])
    (act,) = trace.actions()
    assert (act.type, act.by, act.state, act.target_text, act.target_bounds) == \
        (ActionType.TAP, ActedBy.STRATEGY, "s1", "不同意", [1, 2, 3, 4])
    (event,) = trace.events(EventType.ACTIVITY_START)
    assert (event.package, event.component, event.uid) == ("com.b", "com.b/.X", 10)
    assert Permissions.of(steps[4]).permissions["android.permission.CAMERA"]["flags"] == ["USER_SET"]
    assert Recovery.of(steps[5]).type == RecoveryType.LEFT_APP
    assert (trace.end.reason, trace.end.steps) == (EndReason.BUDGET, 2)


def test_old_or_partial_steps_read_with_defaults_and_unknown_values_as_their_strings():
    obs = Obs.of(Step(1, 0.0, "observation", {}))
    assert (obs.kind, obs.package, obs.pid, obs.app_in_front, obs.png, obs.state) == ("app", "", None, None, None, "")
    assert Obs.of(Step(2, 0.0, "observation", {"scene": "splash_ad"})).kind == SceneKind.SPLASH_AD
    act = Act.of(Step(3, 0.0, "action", {"type": "teleport", "user_like": None, "seconds": "x"}))
    assert (act.type, act.user_like, act.seconds, act.target, act.permission) == ("teleport", True, 0.0, {}, None)
    event = Event.of(Step(4, 0.0, "event", {"type": "crash", "pid": "12"}))
    assert (event.type, event.pid, event.package) == (EventType.CRASH, None, "")
    assert Trace([]).end is None and Trace([]).package == ""


def test_every_action_a_strategy_can_decide_is_performed_on_the_device():
    decided = set(ActionType) - {ActionType.STOP, ActionType.LAUNCH, ActionType.CLEAR_DATA,
                                 ActionType.KILL_BACKGROUND, ActionType.FORCE_STOP}
    assert set(Session.PERFORM) == decided
