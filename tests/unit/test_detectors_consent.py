"""Consent family: permission_before_consent, consent_refusal_exit, consent_no_refuse_option, consent_prechecked."""

from __future__ import annotations

from crawler.detectors import detect
from tests.unit.trace_builder import TraceBuilder


def by_kind(trace, kind):
    return [f for f in detect(trace) if f.kind == kind]


# -- permission_before_consent --------------------------------------------------------------------------------

def test_permission_dialog_before_consent_accepted():
    b = TraceBuilder()
    b.launch()
    first = b.dialog("phone")
    b.deny("phone")
    b.consent()
    b.tap("同意", role="accept", scene="consent_dialog")
    b.screen(dt=1)
    [f] = by_kind(b.build(), "permission_before_consent")
    assert f.metrics["groups"] == ["phone"]
    assert f.metrics["seconds_before_consent"] > 0
    assert f.id == f"permission_before_consent-{first}"


def test_permission_after_refused_consent_is_never_accepted():
    b = TraceBuilder()
    b.launch()
    b.consent(roles=("accept", "refuse", "browse"))
    b.tap("仅浏览", role="browse", scene="consent_dialog")
    b.screen()
    b.wait(3)
    b.dialog("location")
    b.deny("location")
    [f] = by_kind(b.build(), "permission_before_consent")
    assert f.metrics["seconds_before_consent"] == "never accepted"


def test_permission_after_consent_accepted_is_fine():
    b = TraceBuilder()
    b.launch()
    b.consent()
    b.tap("同意", role="accept", scene="consent_dialog")
    b.screen()
    b.dialog("location")
    b.deny("location")
    assert by_kind(b.build(), "permission_before_consent") == []


# -- consent_refusal_exit -------------------------------------------------------------------------------------

def test_refusing_consent_twice_closes_the_app():
    b = TraceBuilder()
    b.launch()
    b.consent()
    refuse = b.tap("不同意", role="refuse", scene="consent_dialog")
    b.consent(text=("再次温馨提示", "不同意将无法使用我们的产品和服务，并会退出App"))
    b.tap("不同意并退出", role="refuse", scene="consent_dialog")
    b.gone(dt=0.6)
    [f] = by_kind(b.build(), "consent_refusal_exit")
    assert f.metrics["steps_to_exit"] == 2
    assert f.metrics["exit_type"] == "died"
    assert f.metrics["modes_offered"] == []
    assert f.key_step == refuse


def test_refusal_exit_with_browse_mode_offered_is_not_reported():
    b = TraceBuilder()
    b.launch()
    b.consent(roles=("accept", "refuse", "browse"))
    b.tap("不同意", role="refuse", scene="consent_dialog")
    b.gone()
    assert by_kind(b.build(), "consent_refusal_exit") == []


def test_app_that_stays_after_refusal_is_not_reported():
    b = TraceBuilder()
    b.launch()
    b.consent()
    b.tap("不同意", role="refuse", scene="consent_dialog")
    b.screen(["首页"], dt=2)
    b.screen(["首页"], dt=8)
    assert by_kind(b.build(), "consent_refusal_exit") == []


# -- consent_no_refuse_option ---------------------------------------------------------------------------------

def test_consent_with_only_an_ok_button():
    b = TraceBuilder()
    b.launch()
    b.consent(roles=("accept",))
    b.tap("同意", role="accept", scene="consent_dialog")
    b.screen()
    [f] = by_kind(b.build(), "consent_no_refuse_option")
    assert f.metrics["buttons"] == ["同意"]


def test_consent_with_a_refuse_button_is_fine():
    b = TraceBuilder()
    b.launch()
    b.consent(roles=("accept", "refuse"))
    assert by_kind(b.build(), "consent_no_refuse_option") == []


# -- consent_prechecked ---------------------------------------------------------------------------------------

def test_prechecked_agreement_box():
    b = TraceBuilder()
    b.launch()
    b.consent(checked=True)
    [f] = by_kind(b.build(), "consent_prechecked")
    assert "隐私政策" in f.metrics["widget"] and f.confidence >= 0.9


def test_box_checked_by_our_tap_is_not_prechecked():
    b = TraceBuilder()
    b.launch()
    b.consent(checked=False)
    b.tap("我已阅读并同意", role="consent_checkbox", scene="consent_dialog")
    b.consent(checked=True)
    assert by_kind(b.build(), "consent_prechecked") == []
