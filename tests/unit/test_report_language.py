"""One language per page: a run with every finding kind, every step kind, scene, action, event and recovery, ended in
every way, rendered in zh-CN and in en; the visible text outside the app's own words has no word of the other
language. App text (`.app-text`, `.app-label`), identifiers in monospace (packages, hashes, serials, run ids), what
the device said (`.device-text`), quoted text marked with its language (`lang="..."`: the legal basis, quoted in
Chinese, an error message as recorded) and tooltips (which name states and steps) are left out. The state graph is
checked too: its captions' first line and its edge labels are ours, activity names and button texts app text.
"""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest

from crawler.detectors.taxonomy import load_taxonomy
from crawler.store import RunStore
from reports.dashboard import write_dashboard
from reports.html import render_run_report
from reports.html.strings import _load
from tests.unit.test_dashboard import make_lab
from tests.unit.trace_builder import TraceBuilder

END_REASONS = {
    "done": "the app left the foreground 5 times",
    "budget": "300 s of device time used",
    "steps": "400 steps taken",
    "interrupted": "stopped by the user",
    "device_lost": "device emulator-5554 is offline",
    "error": "the device keeps returning an unusable hierarchy: boom",
}
# Latin words a Chinese page uses as they are: names of things, not English
TERMS = {"naysayer", "APK", "SHA", "SDK", "ROM", "Android", "UTC", "JSON", "GraphML", "apk", "ID"}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")

METRICS = {  # what each detector records (crawler/detectors/*.py), with values of every enum they use
    "quit_on_refusal": {"seconds_to_exit": 0.5, "exit_type": "died", "permission": "location",
                        "front_package": "com.android.launcher3", "via_dialog": False},
    "refusal_loop": {"permission": "camera", "dialog_text": ["需要相机权限才能使用"], "options": ["exit: 退出", "grant: 去授权"],
                     "times_shown": 2},
    "reprompt_after_refusal": {"permission": "location", "count": 3, "system_dialogs": 1, "suppressed": 1, "nags": 1,
                               "min_interval_s": 2.5, "per_launch": {"1": 2, "2": 1}, "within_48h": 3,
                               "after_user_action": 0},
    "unrelated_prompt_after_refusal": {"denied": "location", "permissions": ["camera", "contacts"],
                                       "seconds_after_denial": {"camera": 1.0, "contacts": 1.5}},
    "upfront_permission_burst": {"groups": ["location", "storage"], "count": 2,
                                 "seconds_from_launch": {"location": 0.5, "storage": 1.0}, "launches_with_burst": 1},
    "permission_before_consent": {"groups": ["phone"], "seconds_before_consent": 3.0, "consent_seen": True},
    "no_purpose_explained": {"permission": "location", "text_seen": ["首页"]},
    "consent_refusal_exit": {"steps_to_exit": 1, "seconds_to_exit": 0.4, "exit_type": "backgrounded",
                             "modes_offered": []},
    "consent_no_refuse_option": {"buttons": ["同意并继续"]},
    "consent_prechecked": {"widget": "我已阅读并同意"},
    "popup_harassment": {"popups": 5, "popups_per_minute": 3.0, "returns_after_close": 2},
    "splash_ad_no_skip": {"ad_kind": "splash_ad", "seconds_held": 5.0, "control_seen": False,
                          "taps_without_effect": 2, "episodes": 1},
    "close_countdown": {"countdown_s": 5, "seconds_until_closable": 5.0, "taps_without_effect": 1, "episodes": 1},
    "deceptive_close": {"what_opened": "com.example.shop", "ad_kind": "ad_popup", "control_text": "×"},
    "associated_launch": {"target_package": "com.example.other", "trigger": "after tap close", "count": 1,
                          "evidence": ["logcat", "screen"]},
    "self_start": {"starts": 2, "starts_per_hour": 4.0, "reasons": {"broadcast": 1, "service": 1},
                   "observed_hours": 0.5},
}
OTHER_TRIGGERS = ("no action", "at cold launch", "at launch", "while idle", "after back")


def busy_trace(reason: str) -> TraceBuilder:
    """Every step kind, scene, action type and role, event and recovery the report names."""
    b = TraceBuilder(package="com.example.busy")
    b.steps[0].data["app"].update(apk_sha256="ab" * 32, apk_source="installed",
                                  apk_problem="installed APK not read: cannot pull /data/app/base.apk")
    b.launch()
    b.screen(["首页", "https://example.com/" + "a" * 150])  # a long unbroken line must not widen the page
    b.consent()
    b.act("tap", role="refuse", scene="consent_dialog", text="不同意", reason="refuse the privacy policy")
    b.dialog("location")
    b.deny("location")
    b.permissions({"android.permission.ACCESS_FINE_LOCATION": (False, ["USER_SET"]),
                   "android.permission.CAMERA": (False, ["USER_FIXED"])})
    b.nag("location")
    b.act("tap", role="not_now", scene="rationale_dialog", text="暂不")
    b.ad("ad_popup")
    b.act("tap", role="close", scene="ad_popup", text="×")
    b.ad("splash_ad", roles=("skip",))
    b.act("tap", role="skip", scene="splash_ad", text="跳过")
    for action in ("long_tap", "swipe", "text", "wait", "back", "home", "clear_data", "kill_background"):
        b.act(action)
    for role in ("deny_dont_ask", "allow", "allow_foreground", "allow_once", "allow_always", "dont_ask_checkbox",
                 "accept", "browse", "settings", "grant", "exit", "cta", "close_app", "ok"):
        b.act("tap", role=role, text="按钮")
    for event in ("proc_start", "kill", "anr", "activity_start", "permission_request"):
        b.event(event, reason="broadcast", component="com.example.busy/.Main")
    b.crash()
    for recovery in ("left_app", "died", "crashed", "anr", "stuck", "bad_hierarchy"):
        b.recovery(recovery, detail="relaunch after the app quit")
    b.gone()
    b.steps_before_end = len(b.steps)
    b.add("run_end", {"reason": reason, "detail": END_REASONS[reason], "steps": 40, "seconds": 60.0})
    return b


def busy_run(root: Path, reason: str) -> Path:
    b = busy_trace(reason)
    taxonomy = load_taxonomy().kinds
    seqs = [s.seq for s in b.steps]
    findings = []
    for n, (kind, metrics) in enumerate(sorted(METRICS.items())):
        chunk = seqs[(n * 7) % len(seqs):][:30] or seqs[:30]
        findings.append({"id": f"{kind}-{n}", "kind": kind, "severity": taxonomy[kind].severity,
                         "steps": chunk, "key_step": chunk[0], "offset_s": 1.0 + n, "confidence": 0.9,
                         "metrics": metrics, "summary": f"{kind} (en)", "summary_zh": f"{kind}（中文）",
                         "title": dict(taxonomy[kind].title), "basis": [x.to_json() for x in taxonomy[kind].basis]})
    for trigger in OTHER_TRIGGERS:
        findings.append(dict(findings[-2], id=f"associated-{trigger}",
                             metrics=dict(METRICS["associated_launch"], trigger=trigger)))
    store = RunStore.create(root, f"run-{reason}")
    with store:
        for step in b.steps:
            store.append(step.kind, step.t, step.data)
        store.write_findings(findings)
    return store.path


def foreign_words(html: str, lang: str) -> list[str]:
    doc = lxml.html.document_fromstring(html)
    body = doc.body
    for el in body.xpath(".//script | .//style | .//svg[contains(@class, 'graph-defs')] | .//svg//title"):
        el.drop_tree()
    for el in body.xpath(".//*[@lang]"):  # quoted, and marked with its language (legal text, error messages)
        el.drop_tree()
    for cls in ("app-text", "app-label", "mono", "device-text"):
        for el in body.xpath(f".//*[contains(concat(' ', normalize-space(@class), ' '), ' {cls} ')]"):
            el.drop_tree()
    text = body.text_content()
    if lang == "en":
        return sorted(set(CJK.findall(text)))
    return sorted({w for w in LATIN_WORD.findall(text) if w not in TERMS})


def test_every_metric_threshold_unit_and_value_the_taxonomy_uses_is_in_both_tables():
    tables = _load()
    taxonomy = load_taxonomy()
    for lang in ("zh-CN", "en"):
        t = tables[lang]
        for kind, spec in taxonomy.kinds.items():
            assert set(spec.metrics) <= set(t["finding_metric"]), (lang, kind)
            assert set(METRICS[kind]) <= set(t["finding_metric"]), (lang, kind)
            for th in spec.thresholds:
                assert th.name in t["threshold"] and th.unit in t["unit"] and th.source in t["threshold_source"]
    assert set(METRICS) == set(taxonomy.kinds)  # the test covers every kind


@pytest.mark.parametrize("reason", sorted(END_REASONS))
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_run_report_speaks_one_language(tmp_path, lang, reason):
    run = busy_run(tmp_path, reason)
    html = render_run_report(run, lang=lang)
    assert foreign_words(html, lang) == []
    doc = lxml.html.document_fromstring(html)
    assert len(doc.xpath("//section[contains(@class, 'finding')]")) == len(METRICS) + len(OTHER_TRIGGERS)
    if lang == "zh-CN":  # the complaint of issue 17, and what replaced it
        assert "the app left the foreground" not in html and "refuse the privacy policy" not in html
        if reason == "done":
            assert "应用 5 次自行离开前台" in html
    else:
        assert "refuse the privacy policy" in html and END_REASONS[reason] in html


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_app_name_sha256_and_apk_facts_show_when_recorded(tmp_path, lang):
    html = render_run_report(busy_run(tmp_path, "done"), lang=lang)
    doc = lxml.html.document_fromstring(html)
    facts = doc.xpath("string(//section[@id='facts'])")
    assert "ab" * 32 in facts and "Example" in doc.xpath("string(//td[contains(@class, 'app-label')])")
    assert ("从设备上读取" if lang == "zh-CN" else "read from the device") in facts
    assert "cannot pull /data/app/base.apk" in doc.xpath("string(//span[@class='raw'])")


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_dashboard_speaks_one_language(tmp_path, lang):
    lab = make_lab(tmp_path / "lab")
    html = write_dashboard(lab, tmp_path / "site", lang, reports=False).read_text(encoding="utf-8")
    # the charts' text is ours (kind titles, severities, times) except the device lanes (serials: device text); their
    # tooltips (<title>) name the apps
    doc = lxml.html.document_fromstring(html)
    serials = {"dev-a", "dev-$x$-<b>"}
    chart_text = [t for t in doc.xpath("//svg[contains(@class, 'chart')]//text/text()") if t.strip() not in serials]
    assert len(chart_text) > 10
    body = re.sub(r"<svg.*?</svg>", "", html, flags=re.DOTALL)
    assert foreign_words(body, lang) == []
    assert foreign_words("<html><body><p>" + " ".join(chart_text) + "</p></body></html>", lang) == []
