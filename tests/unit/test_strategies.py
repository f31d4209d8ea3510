"""The refusal policy and exploration, on scenes as perception reports them (no device)."""

from crawler.perceive.scene import Checkbox, Control, Scene
from strategies import make_strategy
from strategies.base import History, StrategyContext, Widget
from strategies.replay import ReplayStrategy


def ctx(scene, history=None, state="s1", widgets=()):
    return StrategyContext("com.example.app", scene, state, list(widgets), 0.0, history or History())


def perm_scene(*roles, group="location"):
    return Scene("permission_dialog", permission=group,
                 actions={r: Control((0, 100 * i, 720, 100 * i + 90), r) for i, r in enumerate(roles)})


def test_deny_first_then_deny_and_dont_ask_on_second_request():
    deny = make_strategy("deny")
    history = History()
    history.requests["location"] = 1
    assert deny.choose(ctx(perm_scene("allow_foreground", "allow_once", "deny"), history)).role == "deny"
    history.requests["location"] = 2
    second = deny.choose(ctx(perm_scene("allow_foreground", "deny", "deny_dont_ask"), history))
    assert second.role == "deny_dont_ask" and second.type == "tap"


def test_android9_checkbox_is_ticked_before_denying_on_second_request():
    history = History()
    history.requests["camera"] = 2
    scene = perm_scene("allow", "deny", "dont_ask_checkbox", group="camera")
    scene.checkboxes = [Checkbox((0, 0, 50, 50), "Don't ask again", False)]
    assert make_strategy("deny").choose(ctx(scene, history)).role == "dont_ask_checkbox"
    scene.checkboxes = [Checkbox((0, 0, 50, 50), "Don't ask again", True)]
    assert make_strategy("deny").choose(ctx(scene, history)).role == "deny"


def test_never_allows_even_without_a_deny_button():
    decision = make_strategy("deny").choose(ctx(perm_scene("allow")))
    assert decision.type == "back" and decision.role == "deny"


def consent_scene(*roles, checked=None):
    scene = Scene("consent_dialog", actions={r: Control((0, 0, 10, 10), r) for r in roles})
    if checked is not None:
        scene.checkboxes = [Checkbox((0, 0, 10, 10), "我已阅读并同意", checked)]
    return scene


def test_consent_is_refused_then_accepted_after_refusal_closed_the_app():
    deny, history = make_strategy("deny"), History()
    assert deny.choose(ctx(consent_scene("accept", "refuse"), history)).role == "refuse"
    history.consent_refusal_exited = True
    assert deny.choose(ctx(consent_scene("accept", "refuse"), history)).role == "accept"
    # the strict strategy never gives in
    assert make_strategy("bfs").choose(ctx(consent_scene("accept", "refuse"), history)).role == "refuse"


def test_consent_without_refuse_option_is_accepted_and_says_why():
    decision = make_strategy("deny").choose(ctx(consent_scene("accept")))
    assert decision.role == "accept" and "no refuse option" in decision.reason


def test_explanation_before_the_first_request_is_followed_to_the_system_dialog():
    history = History()
    explain = Scene("rationale_dialog", permission="camera",
                    actions={"grant": Control((0, 0, 1, 1)), "not_now": Control((0, 2, 1, 3))})
    assert make_strategy("deny").choose(ctx(explain, history, state="explain")).role == "grant"
    history.requests["camera"] = 1  # once asked and denied, the same dialog is a nag: not now
    assert make_strategy("deny").choose(ctx(explain, history, state="nag")).role == "not_now"


def test_nag_is_dismissed_and_a_refusal_loop_is_escaped():
    history = History()
    nag = Scene("rationale_dialog", actions={"settings": Control((0, 0, 1, 1)), "not_now": Control((0, 2, 1, 3))})
    assert make_strategy("deny").choose(ctx(nag, history)).role == "not_now"
    loop = Scene("rationale_dialog", actions={"settings": Control((0, 0, 1, 1)), "exit": Control((0, 2, 1, 3))})
    choices = [make_strategy("deny").choose(ctx(loop, history, state="loop")) for _ in range(3)]
    assert [c.type for c in choices] == ["back", "tap", "tap"]
    assert [c.role for c in choices[1:]] == ["settings", "exit"]


def test_ad_close_waits_out_a_countdown():
    held = Scene("ad_popup", actions={"close": Control((0, 0, 1, 1), enabled=False)}, countdown=5)
    assert make_strategy("deny").choose(ctx(held)).type == "wait"
    ready = Scene("ad_popup", actions={"close": Control((0, 0, 1, 1))})
    assert make_strategy("deny").choose(ctx(ready)).role == "close"


def widget(identity):
    return Widget(identity, Control((0, 0, 10, 10), identity))


def test_exploration_tries_each_widget_once_then_dwells_on_the_first_screen():
    deny, history = make_strategy("deny"), History()
    history.root_state = "home"
    widgets = [widget("a#1"), widget("b#1")]
    picks = [deny.choose(ctx(Scene("app"), history, "home", widgets)) for _ in range(3)]
    assert [p.widget for p in picks[:2]] == ["a#1", "b#1"]
    assert picks[2].type == "wait" and picks[2].reason.startswith("dwell")
    history.tried["detail"].add("c#1")
    assert deny.choose(ctx(Scene("app"), history, "detail", [widget("c#1")])).type == "back"
    assert deny.choose(ctx(Scene("app"), history, "splash", [])).type == "wait"
    looks = [deny.choose(ctx(Scene("app"), history, "reader", [])).type for _ in range(7)]
    assert looks[:4] == ["wait"] * 4 and looks[-1] == "back"  # a page with nothing to tap: look, then leave


def test_random_is_reproducible_with_a_seed():
    widgets = [widget(f"w{i}#1") for i in range(10)]
    runs = []
    for _ in range(2):
        strategy, history = make_strategy("random", seed=7), History()
        runs.append([strategy.choose(ctx(Scene("app"), history, "s", widgets)).widget for _ in range(20)])
    assert runs[0] == runs[1]


def test_replay_matches_by_identity_not_coordinates():
    replay = ReplayStrategy([{"by": "strategy", "type": "tap", "widget": "id/buy|Button|Buy#1", "seq": 9},
                             {"by": "session", "type": "launch"}])
    moved = Widget("id/buy|Button|Buy#1", Control((300, 900, 420, 960), "Buy"))
    decision = replay.choose(ctx(Scene("app"), widgets=[widget("other#1"), moved]))
    assert decision.control.bounds == (300, 900, 420, 960)
    assert replay.choose(ctx(Scene("app"))).type == "stop"


def test_unknown_strategy_is_a_clear_error():
    import pytest

    from strategies import UnknownStrategy

    with pytest.raises(UnknownStrategy, match="unknown strategy"):
        make_strategy("greedy")
