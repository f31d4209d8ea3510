"""The taxonomy, settings, determinism of detect(), the timeline's exit classes, and the CLI support layer."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from crawler.analyze import AnalyzeError, analyze_run, findings_json
from crawler.cli.findings import findings_table
from crawler.detectors import DETECTORS, detect
from crawler.detectors.taxonomy import (
    REQUIRED_KINDS,
    Settings,
    SettingsError,
    TaxonomyError,
    load_taxonomy,
    parse_taxonomy,
)
from crawler.detectors.timeline import Timeline
from tests.reference import needs_reference, reference_path
from tests.unit.trace_builder import TraceBuilder

REPO = Path(__file__).resolve().parents[2]
REGULATION = reference_path("regulation.md")


def busy_trace():
    """A run with several findings: burst at start, quit on refusal, relaunch, re-ask, returning ad."""
    b = TraceBuilder()
    b.launch()
    b.screen(["欢迎"])
    for group in ("location", "contacts"):
        b.dialog(group)
        b.deny(group)
    b.screen(["首页"], state="home")
    b.ad(text=("限时特惠",))
    b.tap("×", role="close", scene="ad_popup")
    b.screen(["首页"], state="home")
    b.ad(text=("限时特惠",))
    b.tap("×", role="close", scene="ad_popup")
    b.dialog("camera")
    b.deny("camera")
    b.gone(dt=1)
    b.recovery("died")
    b.launch()
    b.dialog("location")
    b.deny("location", dont_ask=True)
    b.screen()
    return b.build()


# -- taxonomy -------------------------------------------------------------------------------------------------

def test_taxonomy_has_every_required_kind_with_both_languages_and_a_basis():
    taxonomy = load_taxonomy()
    assert set(REQUIRED_KINDS) <= set(taxonomy.kinds)
    assert set(DETECTORS) == set(REQUIRED_KINDS)
    for kind in taxonomy.kinds.values():
        assert kind.title["zh-CN"] and kind.title["en"] and kind.statement["zh-CN"] and kind.statement["en"]
        assert kind.basis and all(b.status for b in kind.basis)
        assert all(t.source in ("law", "OURS", "app_store") for t in kind.thresholds)


def test_findings_md_defaults_are_the_taxonomy_defaults():
    s = Settings.defaults()
    assert s.get("quit_on_refusal", "window_s") == 10
    assert s.get("unrelated_prompt_after_refusal", "window_s") == 60
    assert s.get("upfront_permission_burst", "min_groups") == 2
    assert s.get("popup_harassment", "max_per_minute") == 3
    assert s.get("close_countdown", "max_countdown_s") == 0
    assert load_taxonomy().thresholds()["quit_on_refusal.window_s"].source == "OURS"


@needs_reference("regulation.md")
def test_every_quoted_basis_is_verbatim_in_regulation_md():
    text = REGULATION.read_text("utf-8")
    for kind in load_taxonomy().kinds.values():
        for basis in kind.basis:
            assert basis.quote == "" or basis.quote in text, (kind.kind, basis.quote)


def test_malformed_taxonomy_is_one_clear_error():
    with pytest.raises(TaxonomyError, match="required kinds missing"):
        parse_taxonomy("kinds: {}")
    with pytest.raises(TaxonomyError, match="not valid YAML"):
        parse_taxonomy("kinds: [")


# -- settings -------------------------------------------------------------------------------------------------

def test_settings_overrides_from_cli_words_and_nested_dicts():
    assert Settings.from_cli(["quit_on_refusal.window_s=5"]).get("quit_on_refusal", "window_s") == 5
    assert Settings.from_dict({"popup_harassment": {"max_per_minute": 10}}).get("popup_harassment",
                                                                                 "max_per_minute") == 10
    with pytest.raises(SettingsError, match="unknown"):
        Settings.from_cli(["quit_on_refusal.windw_s=5"])
    with pytest.raises(SettingsError, match="not a number"):
        Settings.from_cli(["quit_on_refusal.window_s=soon"])
    with pytest.raises(SettingsError, match="kind.name=value"):
        Settings.from_cli(["quit_on_refusal.window_s"])


def test_a_stricter_threshold_changes_the_findings():
    trace = busy_trace()
    assert "popup_harassment" in [f.kind for f in detect(trace)]
    lenient = Settings.from_dict({"popup_harassment.max_returns": 5})
    assert "popup_harassment" not in [f.kind for f in detect(trace, lenient)]


# -- determinism ----------------------------------------------------------------------------------------------

def test_same_trace_twice_gives_the_same_findings_and_ids():
    first, second = detect(busy_trace()), detect(busy_trace())
    assert [f.to_json() for f in first] == [f.to_json() for f in second]
    ids = [f.id for f in first]
    assert len(ids) == len(set(ids))
    assert [f.time for f in first] == sorted(f.time for f in first)
    assert {"upfront_permission_burst", "quit_on_refusal", "reprompt_after_refusal",
            "popup_harassment"} <= {f.kind for f in first}


def test_empty_trace_has_no_findings():
    from crawler.trace import Trace

    assert detect(Trace([])) == []


# -- exit classification --------------------------------------------------------------------------------------

def _exit_after_deny(build) -> str | None:
    b = TraceBuilder()
    b.launch()
    b.screen()
    b.dialog("camera")
    deny = b.deny("camera")
    build(b)
    gone = Timeline(b.build()).exit_after(deny, 10)
    return gone.type if gone else None


def test_exit_classes():
    assert _exit_after_deny(lambda b: b.gone()) == "died"
    assert _exit_after_deny(lambda b: b.away()) == "backgrounded"
    assert _exit_after_deny(lambda b: b.crash()) == "crashed"
    assert _exit_after_deny(lambda b: b.recovery("died")) == "died"
    assert _exit_after_deny(lambda b: b.screen()) is None
    assert _exit_after_deny(lambda b: (b.act("force_stop", user_like=False), b.gone())) is None


# -- cli support ----------------------------------------------------------------------------------------------

def test_findings_json_has_the_fields_a_report_needs():
    [row, *_] = findings_json(detect(busy_trace()))
    for key in ("id", "kind", "package", "time", "steps", "metrics", "basis", "summary", "summary_zh",
                "screenshots", "confidence", "app_version"):
        assert key in row
    assert row["package"] == "com.example.app"


def test_table_shows_hostile_app_text_literally():
    b = TraceBuilder()
    b.launch()
    b.screen(["[bold red]首页[/]"])
    b.dialog("contacts")
    b.deny("contacts")
    console = Console(width=200, record=True)
    console.print(findings_table(detect(b.build())))
    assert "首页[/]" in console.export_text()  # markup in app text printed as is, not interpreted


def _stored_run(root: Path, trace) -> Path:
    from crawler.store import RunStore

    with RunStore.create(root, "r1") as store:
        for step in trace.steps:
            store.append(step.kind, step.t, step.data)
        return store.path


def test_analyze_run_writes_findings_of_a_sound_run(tmp_path):
    from crawler.store import RunStore

    run = _stored_run(tmp_path, busy_trace())
    findings = analyze_run(run)
    with RunStore.open(run) as store:
        assert findings and store.findings() == findings_json(findings)


def test_analyze_run_refuses_a_broken_chain_and_writes_nothing(tmp_path):
    import sqlite3

    from crawler.store import RunStore

    run = _stored_run(tmp_path, busy_trace())
    with sqlite3.connect(run / "trace.sqlite") as db:
        db.execute("UPDATE steps SET data = replace(data, 'deny', 'allow') WHERE seq = 7")
    with pytest.raises(AnalyzeError, match="broken at step 7"):
        analyze_run(run)
    with RunStore.open(run) as store:
        assert store.findings() == []
    with pytest.raises(AnalyzeError, match="not a naysayer run"):
        analyze_run(tmp_path / "nope")
