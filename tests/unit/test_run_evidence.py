"""A run as evidence, against someone who edits its database: findings are sealed to the head they were derived from
(a forged, added or deleted finding is named by verify, the report and export); a run whose findings were never
derived (a killed crawl) says so everywhere; damaged databases give one line, never a traceback, and the report still
renders with the damage named; reading a closed run leaves no -wal/-shm files; runs from before the seal open."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crawler.store import RunStore
from reports.bundle import ExportError, export_bundle
from reports.html import render_index, render_run_report
from tests.cli_runner import naysayer
from tests.unit.evidence_runs import refusal_run as record

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> Path:
    return record(tmp_path_factory.mktemp("runs"), "analysed")


def copy(run: Path, dst: Path) -> Path:
    shutil.copytree(run, dst)
    return dst


def sql(run: Path, statement: str, *args) -> None:
    db = sqlite3.connect(run / "trace.sqlite")
    with db:
        db.execute(statement, args)
    db.close()


def ids(run: Path) -> list[str]:
    with RunStore.open(run) as store:
        return [f["id"] for f in store.findings()]


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr[-2000:]


# -- findings under the seal ----------------------------------------------------------------------------------------
def test_a_forged_added_or_deleted_finding_is_named_by_verify_report_and_export(analysed, tmp_path):
    run = copy(analysed, tmp_path / "forged")
    first, second, *_ = ids(run)
    sql(run, "UPDATE findings SET data = replace(data, 'camera', 'microphone') WHERE id = ?", first)
    sql(run, "DELETE FROM findings WHERE id = ?", second)
    sql(run, "INSERT INTO findings VALUES ('made-up-9', 'made_up', '{\"id\":\"made-up-9\",\"kind\":\"made_up\"}', 0)")
    with RunStore.open(run) as store:
        report = store.verify()
    assert report.chain_ok and not report.ok
    assert report.findings.problems == [f"finding '{first}' was changed after it was derived (forged)",
                                        "finding 'made-up-9' was added after the findings were derived",
                                        f"finding '{second}' was deleted after the findings were derived"]
    result = naysayer("verify", str(run))
    assert result.returncode == 1 and "hash chain intact" in result.stdout
    assert f"finding '{first}' was changed after it was derived (forged)" in result.stdout
    assert f"finding '{second}' was deleted" in result.stdout and "'made-up-9' was added" in result.stdout
    html = render_run_report(run, "en")
    assert 'id="findings-integrity"' in html and f"{first}&#39; was changed after it was derived" in html
    with pytest.raises(ExportError, match=f"'{first}' was changed after it was derived .*a tampered run is not"):
        export_bundle(run, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()
    result = naysayer("findings", str(run))
    assert result.returncode == 1 and "was changed after it was derived" in result.stderr
    # analyze re-derives from the trace and seals again
    assert naysayer("analyze", str(run)).returncode == 0
    assert naysayer("verify", str(run)).returncode == 0


def test_a_forged_findings_record_or_one_from_another_head_is_caught(analysed, tmp_path):
    run = copy(analysed, tmp_path / "record")
    with RunStore.open(run) as store:
        record_text = store.meta()["findings"]
    forged = json.loads(record_text)
    forged["findings"] = forged["findings"][1:]  # hide a deletion in the record too, without its hash
    sql(run, "UPDATE meta SET value = ? WHERE key = 'findings'", json.dumps(forged))
    sql(run, "DELETE FROM findings WHERE id = ?", ids(run)[0])
    with RunStore.open(run) as store:
        assert store.verify().findings.problems == [
            "the findings record is damaged or was edited (it does not match its own hash)"]
    stale = copy(analysed, tmp_path / "stale")
    with RunStore.open(stale) as store:
        store.append("run_end", 999.0, {"reason": "done"})  # a step after the findings were derived
        status = store.verify().findings
    assert status.state == "stale" and "derived at step 31 but the run goes on to step 32" in status.problems[0]


def test_the_record_names_the_head_and_the_detector_version(analysed):
    with RunStore.open(analysed) as store:
        record_ = json.loads(store.meta()["findings"])
        report = store.verify()
    assert record_["head_seq"] == report.steps == 31 and record_["head"] == report.head
    assert record_["detectors"].startswith("naysayer ") and len(record_["findings"]) == len(ids(analysed))
    assert report.ok and report.findings.state == "sealed"
    result = naysayer("verify", str(analysed))
    assert result.returncode == 0 and f"findings: {len(record_['findings'])}, sealed to step 31 by naysayer" \
        in result.stdout


# -- a run whose findings were never derived ---------------------------------------------------------------------------
WRITER = """
    import sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from crawler.store import RunStore
    store = RunStore.create(Path({root!r}), "killed")
    store.append("run_start", 0.0, {{"app": {{"package": "com.example.killed"}}}})
    i = 0
    while True:
        i += 1
        store.append("observation", float(i), {{"state": "s%d" % (i % 5), "scene": {{"kind": "app"}}}})
        if i == 30:
            print("ready", flush=True)
"""


def test_a_killed_crawl_says_its_findings_were_never_derived_everywhere(tmp_path):
    script = textwrap.dedent(WRITER.format(repo=str(REPO), root=str(tmp_path)))
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait()
        writer.stdout.close()
    run = tmp_path / "killed"
    result = naysayer("findings", str(run))
    assert result.returncode == 1 and "0 finding" not in result.stdout
    assert result.stderr.strip() == (f"naysayer: {run}: never derived (the crawl did not finish); "
                                     "`naysayer analyze RUN` derives them")
    result = naysayer("verify", str(run))
    assert result.returncode == 0 and "findings: never derived (the crawl did not finish)" in result.stdout
    for lang, words in (("en", "were never derived"), ("zh-CN", "从未生成")):
        html = render_run_report(run, lang)
        assert 'id="findings-not-derived"' in html and words in html and 'id="no-findings"' not in html
    index = render_index([run], "en")
    assert "not derived" in index
    with pytest.raises(ExportError, match="findings were never derived"):
        export_bundle(run, tmp_path / "x.zip")
    assert naysayer("analyze", str(run)).returncode == 0  # derived now: a clean run says so
    assert 'id="no-findings"' in render_run_report(run, "en")
    assert naysayer("findings", str(run)).returncode == 0


def test_a_run_from_before_the_seal_opens_and_says_its_findings_are_unsealed(analysed, tmp_path):
    """A run from before findings records, or one whose record was removed to hide an edit (the two look the same):
    it opens, its chain verifies, and its findings are reported as unchecked until analyze seals them."""
    run = copy(analysed, tmp_path / "old")
    sql(run, "DELETE FROM meta WHERE key = 'findings'")
    with RunStore.open(run) as store:
        report = store.verify()
    assert report.chain_ok and not report.ok and report.findings.state == "unsealed"
    result = naysayer("verify", str(run))
    assert result.returncode == 1 and "hash chain intact" in result.stdout
    assert "not sealed (recorded by an older naysayer, or their record was removed)" in result.stdout
    assert "not sealed" in render_run_report(run, "en")
    with pytest.raises(ExportError, match="not sealed .*`naysayer analyze RUN` re-derives and seals them"):
        export_bundle(run, tmp_path / "x.zip")


# -- damaged databases -------------------------------------------------------------------------------------------------
def damaged_runs(analysed: Path, root: Path) -> dict[str, Path]:
    runs = {}
    runs["invalid utf-8 in a step"] = copy(analysed, root / "utf8")
    sql(runs["invalid utf-8 in a step"], "UPDATE steps SET data = CAST(X'7B2261223A22FF227D' AS TEXT) WHERE seq = 3")
    runs["a step of the wrong type"] = copy(analysed, root / "types")
    sql(runs["a step of the wrong type"], "UPDATE steps SET t = 'soon', data = X'00' WHERE seq = 5")
    runs["invalid utf-8 in a finding"] = copy(analysed, root / "finding")
    sql(runs["invalid utf-8 in a finding"], "UPDATE findings SET data = CAST(X'7B22FF' AS TEXT) WHERE rowid = 1")
    truncated = copy(analysed, root / "truncated")
    db = truncated / "trace.sqlite"
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])
    runs["truncated database"] = truncated
    garbage = copy(analysed, root / "garbage")
    (garbage / "trace.sqlite").write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    runs["not a database"] = garbage
    return runs


# exit codes per damage and command: 2 = one line "naysayer: ..."; 1 = a failed check, named; 0 = the command does
# not read what is damaged (graph reads no finding, findings reads no step: verify does), the report renders the damage,
# analyze re-derives damaged findings from an intact trace
EXPECTED = {
    "invalid utf-8 in a step": {"verify": 1, "graph": 2, "findings": 0, "export": 2, "report": 0, "analyze": 2},
    "invalid utf-8 in a finding": {"verify": 1, "graph": 0, "findings": 2, "export": 2, "report": 0, "analyze": 0},
    "truncated database": {"verify": 2, "graph": 2, "findings": 2, "export": 2, "report": 2, "analyze": 2},
}


def test_damaged_runs_give_one_line_and_a_non_zero_exit_from_every_command(analysed, tmp_path):
    runs = damaged_runs(analysed, tmp_path)
    for what, expected in EXPECTED.items():
        for command, code in expected.items():  # analyze last: it rewrites the findings
            extra = {"export": ("-o", str(tmp_path / "x.zip")), "report": ("-o", str(tmp_path / "r.html"))}
            result = naysayer(command, str(runs[what]), *extra.get(command, ()))
            no_traceback(result)
            assert result.returncode == code, (what, command, result.stdout[-500:], result.stderr)
            if code == 2:
                lines = result.stderr.strip().splitlines()
                assert len(lines) == 1 and lines[0].startswith("naysayer: "), (what, command, result.stderr)


def test_the_report_of_a_damaged_run_renders_with_the_damage_named(analysed, tmp_path):
    runs = damaged_runs(analysed, tmp_path)
    html = render_run_report(runs["invalid utf-8 in a step"], "en")
    assert 'id="integrity"' in html and "hash chain broken at step 3" in html
    assert 'id="damage"' in html and "step 3: its data is not UTF-8 (damaged)" in html
    html = render_run_report(runs["a step of the wrong type"], "en")
    assert "hash chain broken at step 5: its columns have the wrong types" in html
    html = render_run_report(runs["invalid utf-8 in a finding"], "en")
    assert 'id="findings-integrity"' in html
    index = render_index(list(runs.values()), "en")
    assert index.count("utf8") and "truncated" in index  # every run has its line, the unreadable ones say why


# -- reading leaves the run as it was -------------------------------------------------------------------------------
def test_reading_a_closed_run_leaves_no_wal_or_shm_files(analysed, tmp_path):
    run = copy(analysed, tmp_path / "closed")
    before = sorted(p.name for p in run.iterdir())
    assert before == ["blobs", "trace.sqlite"]
    for command in (("verify",), ("findings",), ("graph",), ("report", "-o", str(tmp_path / "r.html")),
                    ("export", "-o", str(tmp_path / "x.zip"))):
        assert naysayer(command[0], str(run), *command[1:]).returncode == 0, command
        assert sorted(p.name for p in run.iterdir()) == before, command
