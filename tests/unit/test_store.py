"""The run store: append and read back, hash chain, tampering, blobs, killed writers, user errors."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from crawler.store import BrokenChain, NewerSchema, NotARun, RunStore, list_runs
from crawler.trace import SCHEMA_VERSION

REPO = Path(__file__).resolve().parents[2]


def small_run(root: Path) -> Path:
    with RunStore.create(root, "run-1") as store:
        png = store.put_blob(b"\x89PNG fake screenshot")
        xml = store.put_blob("<hierarchy><node text='允许'/></hierarchy>".encode())
        store.append("run_start", 100.0, {"app": {"package": "com.example.a"}})
        store.append("observation", 100.5, {"state": "s1", "png": png, "xml": xml, "scene": {"kind": "app"}})
        store.append("action", 100.5, {"type": "tap", "role": "deny", "target": {"text": "拒绝"}})
        store.append("run_end", 101.0, {"reason": "done"})
        return store.path


def test_steps_round_trip_in_order_with_their_data(tmp_path):
    run = small_run(tmp_path)
    with RunStore.open(run) as store:
        trace = store.trace()
        assert [s.kind for s in trace.steps] == ["run_start", "observation", "action", "run_end"]
        assert [s.seq for s in trace.steps] == [1, 2, 3, 4]
        assert trace.package == "com.example.a"
        assert trace.steps[2].data["target"]["text"] == "拒绝"
        assert store.blob(trace.steps[1].data["png"]) == b"\x89PNG fake screenshot"
        assert store.verify().ok
    assert list_runs(tmp_path) == [run]


def test_blobs_are_content_addressed_and_stored_once(tmp_path):
    with RunStore.create(tmp_path, "r") as store:
        a = store.put_blob(b"same")
        b = store.put_blob(b"same")
        assert a == b and store.blob_path(a).read_bytes() == b"same"
        assert len(list((store.path / "blobs").rglob("*"))) == 2  # one folder, one file
        with pytest.raises(ValueError):
            store.blob_path("../../etc/passwd")


def test_tampered_step_breaks_the_chain_at_that_step(tmp_path):
    run = small_run(tmp_path)
    with sqlite3.connect(run / "trace.sqlite") as db:
        db.execute("UPDATE steps SET data = replace(data, 'deny', 'allow') WHERE seq = 3")
    with RunStore.open(run) as store:
        report = store.verify()
        assert not report.ok and report.first_bad_seq == 3 and "hash" in report.reason
        with pytest.raises(BrokenChain, match="hash chain broken at step 3"):
            store.require_intact()
        assert store.trace().steps[2].data["role"] == "allow"  # opening and reading never rewrites


def test_deleted_step_is_detected(tmp_path):
    run = small_run(tmp_path)
    with sqlite3.connect(run / "trace.sqlite") as db:
        db.execute("DELETE FROM steps WHERE seq = 2")
    with RunStore.open(run) as store:
        report = store.verify()
    assert report.first_bad_seq == 2 and "missing" in report.reason


def test_tampered_or_missing_screenshot_is_reported_but_the_chain_holds(tmp_path):
    run = small_run(tmp_path)
    with RunStore.open(run) as store:
        obs = next(store.trace().of("observation"))
        store.blob_path(obs.data["png"]).write_bytes(b"another picture")
        store.blob_path(obs.data["xml"]).unlink()
        report = store.verify()
    assert not report.ok and report.first_bad_seq is None
    assert any("does not match" in p for p in report.blob_problems)
    assert any("missing" in p for p in report.blob_problems)


def test_not_a_run_and_newer_schema_are_one_line_errors(tmp_path):
    with pytest.raises(NotARun, match="not a naysayer run"):
        RunStore.open(tmp_path)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "trace.sqlite").write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(NotARun):
        RunStore.open(tmp_path / "junk")
    run = small_run(tmp_path)
    with sqlite3.connect(run / "trace.sqlite") as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(NewerSchema, match="newer than this naysayer"):
        RunStore.open(run)


def test_unknown_step_kind_and_unsafe_run_id_are_refused(tmp_path):
    with RunStore.create(tmp_path, "r") as store, pytest.raises(ValueError, match="not a step kind"):
        store.append("finding", 1.0, {})
    with pytest.raises(ValueError, match="run ids"):
        RunStore.create(tmp_path, "../escape")


def test_findings_are_replaced_as_a_whole(tmp_path):
    run = small_run(tmp_path)
    with RunStore.open(run) as store:
        store.write_findings([{"id": "a-1", "kind": "a"}, {"id": "b-2", "kind": "b"}])
        store.write_findings([{"id": "c-3", "kind": "c"}])
        assert [f["id"] for f in store.findings()] == ["c-3"]
        assert store.verify().ok  # findings are derived data: rewriting them does not touch the chain


def test_a_writer_killed_mid_run_leaves_a_run_that_opens_and_verifies(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from crawler.store import RunStore
        store = RunStore.create(__import__("pathlib").Path({str(tmp_path)!r}), "killed")
        i = 0
        while True:
            i += 1
            store.append("observation", float(i), {{"state": "s%d" % i, "blob": store.put_blob(b"x" * (i % 50))}})
            if i == 20:
                print("ready", flush=True)
    """)
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    with RunStore.open(tmp_path / "killed") as store:
        steps = store.trace().steps
        report = store.verify()
    assert len(steps) >= 20 and report.first_bad_seq is None
