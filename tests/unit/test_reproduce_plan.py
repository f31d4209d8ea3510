"""Planning a reproduction from a recorded trace (no device), and the planned replay's choices on given screens."""

from __future__ import annotations

import pytest

from crawler.detectors import detect
from crawler.perceive.scene import Control, Scene
from crawler.reproduce import NoFindings, UnknownFinding, load_finding, plan_reproduction, same_finding
from crawler.store import RunStore
from strategies.base import History, StrategyContext, Widget
from strategies.replay import PlannedReplay, PlannedStep
from tests.unit.trace_builder import TraceBuilder

MAP = "com.example.app:id/btn_map|Button|地图#1"
MORE = "com.example.app:id/btn_more|Button|更多#1"
SCAN = "com.example.app:id/btn_scan|Button|扫一扫#1"
CAMERA = "com.example.app:id/item_camera|TextView|拍照#1"


def finding(trace, kind, n=0):
    found = [f for f in detect(trace) if f.kind == kind]
    assert len(found) > n, [f.id for f in detect(trace)]
    return found[n]


def tap(b: TraceBuilder, widget: str, state: str) -> int:
    return b.act("tap", text=widget.split("|")[2].split("#")[0], widget=widget, state=state)


def acted(plan) -> list[tuple[str, str]]:
    """What the replay will do itself, in order: (role or widget, essential?)."""
    return [(s.action.get("role") or s.action.get("widget"), "trigger" if s.essential else "way")
            for s in plan.steps if not s.auto]


def test_quit_on_refusal_takes_the_shortest_way_to_the_deny_and_ends_with_it():
    b = TraceBuilder()
    b.launch()
    b.screen(["首页"], state="home")
    tap(b, MORE, "home")  # a detour the plan must leave out
    b.screen(["更多"], activity=".MoreActivity", state="more")
    b.back(scene="app")
    b.screen(["首页"], state="home")
    tap(b, MAP, "home")
    b.screen(["地图"], activity=".MapActivity", state="map")
    b.dialog("location")
    deny = b.deny("location")
    b.gone(dt=1.0)
    quit = finding(b.build(), "quit_on_refusal")
    plan = plan_reproduction(b.build(), quit)
    assert acted(plan) == [(MAP, "way"), ("deny", "trigger")]
    assert plan.steps[-1].seq == deny and plan.effect == ""  # the session's own watch sees the exit
    assert plan.match == {"permission": "location"}
    assert plan.steps[0].expect == "home"  # the cold-start state


def test_a_second_quit_needs_the_first_refusal_of_the_same_permission():
    b = TraceBuilder()
    b.launch()
    b.screen(state="splash")
    b.dialog("location")
    first = b.deny("location")
    b.gone()
    b.launch()
    b.screen(state="splash")
    b.observe(Scene("permission_dialog", package="com.android.permissioncontroller", permission="location",
                    actions={"deny": Control((0, 0, 1, 1), "拒绝"), "deny_dont_ask": Control((0, 2, 1, 3), "不再询问")}),
              package="com.android.permissioncontroller", state="dialog-dont-ask")
    second = b.deny("location", dont_ask=True)
    b.gone()
    trace = b.build()
    later = next(f for f in detect(trace) if f.kind == "quit_on_refusal" and second in f.steps)
    plan = plan_reproduction(trace, later)
    assert plan.waypoints == [first, second]
    relaunch = [s for s in plan.steps if s.action.get("type") == "launch"]
    assert relaunch and relaunch[0].auto  # the session relaunches by itself: the replay only waits for it


def test_a_reprompt_replays_the_refusal_and_waits_for_the_re_ask():
    b = TraceBuilder()
    b.launch()
    b.screen(state="splash")
    b.dialog("location")
    deny = b.deny("location")
    b.gone()
    b.launch()
    b.screen(state="splash")
    b.permission_request()
    ask = b.dialog("location")
    trace = b.build()
    reprompt = finding(trace, "reprompt_after_refusal")
    assert reprompt.key_step == ask
    plan = plan_reproduction(trace, reprompt)
    assert plan.waypoints == [deny] and acted(plan) == [("deny", "trigger")]
    assert plan.effect == trace.steps[ask].data["state"] and plan.effect_seq == ask
    assert plan.effect_offset >= 10  # the refusal watch of the session counts towards the wait for the re-ask


def test_the_way_uses_only_transitions_seen_before_the_finding():
    b = TraceBuilder()
    b.launch()
    b.screen(state="home")
    tap(b, MORE, "home")
    b.screen(activity=".MoreActivity", state="more")
    tap(b, CAMERA, "more")
    b.dialog("camera")
    b.deny("camera")
    b.gone()
    b.launch()
    b.screen(state="home")
    tap(b, SCAN, "home")  # a shortcut to the same dialog, found only after the finding
    b.dialog("camera")
    trace = b.build()
    plan = plan_reproduction(trace, finding(trace, "quit_on_refusal"))
    assert acted(plan) == [(MORE, "way"), (CAMERA, "way"), ("deny", "trigger")]


def test_interruptions_the_original_closed_are_listed_for_the_replay():
    b = TraceBuilder()
    b.launch()
    b.ad(state="ad")
    b.tap("×", role="close", scene="ad_popup")
    b.screen(state="home")
    b.dialog("camera")
    b.deny("camera")
    b.gone()
    plan = plan_reproduction(b.build(), finding(b.build(), "quit_on_refusal"))
    assert ("ad_popup", "close", "") in plan.dismissals and ("permission_dialog", "deny", "camera") in plan.dismissals


def test_same_finding_needs_the_same_kind_and_permission():
    b = TraceBuilder()
    b.launch()
    b.screen(state="home")
    b.dialog("camera")
    b.deny("camera")
    b.gone()
    quit = finding(b.build(), "quit_on_refusal")
    plan = plan_reproduction(b.build(), quit)
    other = TraceBuilder()
    other.launch()
    other.screen(state="home")
    other.dialog("location")
    other.deny("location")
    other.gone()
    assert same_finding(plan, detect(other.build())) is None
    assert same_finding(plan, detect(b.build())).kind == "quit_on_refusal"


def test_a_run_without_findings_and_an_unknown_id_are_clear_errors(tmp_path):
    with RunStore.create(tmp_path, "clean") as store:
        store.append("run_start", 1.0, {"app": {"package": "com.example.app"}})
    with pytest.raises(NoFindings, match="clean: the run has no findings"):
        load_finding(tmp_path / "clean", "quit_on_refusal-3")
    with RunStore.create(tmp_path, "found") as store:
        store.append("run_start", 1.0, {"app": {"package": "com.example.app"}})
        store.write_findings([{"id": "quit_on_refusal-7", "kind": "quit_on_refusal"}])
    with pytest.raises(UnknownFinding, match=r"no finding 'nope-1' in this run \(its findings: quit_on_refusal-7\)"):
        load_finding(tmp_path / "found", "nope-1")


def test_an_out_that_is_a_file_is_one_line_before_any_device_is_touched(tmp_path, capsys):
    from crawler.cli import main
    from tests.unit.report_runs import make_run

    run = make_run(tmp_path)
    with RunStore.open(run) as store:
        quit_id = next(f["id"] for f in store.findings() if f["kind"] == "quit_on_refusal")
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("x")
    assert main(["reproduce", str(run), quit_id, "--device", "no-such-device", "--out", str(not_a_folder)]) == 2
    assert capsys.readouterr().err.strip() == (f"naysayer: {not_a_folder}: is a file; --out names the folder the new "
                                               "runs go in")


# -- the planned replay on given screens ------------------------------------------------------------------------
def ctx(state: str, t: float, scene: Scene | None = None, widgets=()) -> StrategyContext:
    return StrategyContext("com.example.app", scene or Scene("app"), state, list(widgets), t, History())


def deny_step(**extra) -> PlannedStep:
    action = {"type": "tap", "role": "deny", "scene": "permission_dialog", "permission": "camera", "by": "strategy"}
    return PlannedStep(seq=9, action=action, expect="dialog", then="gone", auto=False, essential=True, **extra)


def camera_dialog() -> Scene:
    return Scene("permission_dialog", permission="camera", actions={"deny": Control((0, 1000, 720, 1080), "拒绝")})


def test_the_replay_waits_for_the_recorded_state_then_acts_by_identity():
    way = PlannedStep(seq=5, action={"type": "tap", "widget": SCAN, "by": "strategy"}, expect="home", then="dialog",
                      auto=False)
    replay = PlannedReplay([way, deny_step()])
    moved = Widget(SCAN, Control((10, 200, 110, 260), "扫一扫"))
    assert replay.choose(ctx("splash", 0.0)).type == "wait"
    tapped = replay.choose(ctx("home", 1.0, widgets=[moved]))
    assert tapped.type == "tap" and tapped.control.bounds == (10, 200, 110, 260)
    denied = replay.choose(ctx("dialog", 2.0, camera_dialog()))
    assert denied.role == "deny" and denied.control.text == "拒绝"
    assert replay.choose(ctx("launcher", 13.0)).type == "stop"  # after a refusal the session has watched already


def test_the_replay_closes_an_interruption_the_original_closed():
    replay = PlannedReplay([deny_step()], dismissals=(("ad_popup", "close", ""),))
    ad = Scene("ad_popup", actions={"close": Control((600, 100, 680, 180), "×")})
    decision = replay.choose(ctx("ad", 0.0, ad))
    assert decision.role == "close" and replay.progress.dismissed == 1
    assert replay.choose(ctx("dialog", 1.0, camera_dialog())).role == "deny"


def test_a_target_without_identity_is_matched_by_bounds_and_the_replay_says_so():
    step = PlannedStep(seq=4, action={"type": "tap", "by": "strategy", "target": {"bounds": [0, 500, 720, 600]}},
                       expect="home", then="next", auto=False)
    replay = PlannedReplay([step])
    decision = replay.choose(ctx("home", 0.0))
    assert decision.control.bounds == (0, 500, 720, 600) and "matched by bounds" in decision.reason
    assert replay.progress.by_bounds == [4]


def test_the_replay_gives_up_when_the_recorded_state_never_comes():
    replay = PlannedReplay([deny_step(offset=5.0)], factor=2.0, slack=10.0)
    assert replay.choose(ctx("home", 0.0)).type == "wait"
    assert replay.choose(ctx("home", 19.0)).type == "wait"
    stop = replay.choose(ctx("home", 21.0))
    assert stop.type == "stop" and "step 9 (deny) not reached" in stop.reason


def test_the_replay_stops_once_the_findings_state_is_on_screen():
    replay = PlannedReplay([], effect="re-ask", effect_offset=30.0)
    assert replay.choose(ctx("home", 0.0)).type == "wait"
    assert replay.choose(ctx("re-ask", 31.0)).type == "stop" and replay.progress.effect_seen


def test_a_dialog_drawn_by_another_rom_is_the_same_step():
    wait = PlannedStep(seq=3, action={"type": "wait", "by": "strategy"}, expect="splash", then="dialog-aosp", auto=True)
    deny = PlannedStep(seq=9, action=deny_step().action, expect="dialog-aosp", then="gone", auto=False, essential=True)
    replay = PlannedReplay([wait, deny])
    assert replay.choose(ctx("splash", 0.0)).type == "wait"
    assert replay.choose(ctx("dialog-miui", 1.0, camera_dialog())).role == "deny"


def test_the_findings_dialog_is_recognised_on_another_rom():
    replay = PlannedReplay([], effect="re-ask-aosp", effect_offset=5.0, effect_dialog=("permission_dialog", "camera"))
    assert replay.choose(ctx("re-ask-miui", 3.0, camera_dialog())).type == "stop" and replay.progress.effect_seen


def test_a_step_recorded_on_a_passing_screen_is_done_on_the_screen_it_settled_to():
    b = TraceBuilder()
    b.launch()
    b.screen(state="home")
    tap(b, MAP, "home")
    b.dialog("location")
    b.deny("location")
    b.screen(["定位失败"], state="home+toast")  # the toast shown after a denial...
    b.screen(state="home")  # ...goes away by itself
    tap(b, MAP, "home")
    b.dialog("location")
    b.deny("location")
    b.screen(["定位失败"], state="home+toast")
    tap(b, MAP, "home+toast")  # this time the recording tapped while the toast was still up
    b.dialog("location")
    b.deny("location", dont_ask=True)
    b.gone()
    trace = b.build()
    plan = plan_reproduction(trace, finding(trace, "quit_on_refusal"))
    on_toast = [s for s in plan.steps if s.expect == "home+toast" and not s.auto]
    assert on_toast and on_toast[0].settled == ("home",)
    replay = PlannedReplay([on_toast[0]])
    widget = Widget(MAP, Control((0, 300, 720, 400), "地图"))
    assert replay.choose(ctx("home", 0.0, widgets=[widget])).widget == MAP  # no waiting for a toast to come back
