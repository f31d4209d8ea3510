"""The run store: append and read back, hash chain, tampering, blobs, killed writers, user errors."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crawler.store import (
    BadBlob,
    BadRunId,
    BrokenChain,
    MissingBlob,
    NewerSchema,
    NotARun,
    RunExists,
    RunStore,
    list_runs,
    step_hash,
)
from crawler.trace import SCHEMA_VERSION

REPO = Path(__file__).resolve().parents[2]


def small_run(root: Path, run_id: str = "run-1") -> Path:
    with RunStore.create(root, run_id) as store:
        png = store.put_blob(b"\x89PNG fake screenshot")
        xml = store.put_blob("<hierarchy><node text='允许'/></hierarchy>".encode())
        store.append("run_start", 100.0, {"app": {"package": "com.example.a"}})
        store.append("observation", 100.5, {"state": "s1", "png": png, "xml": xml, "scene": {"kind": "app"}})
        store.append("action", 100.5, {"type": "tap", "role": "deny", "target": {"text": "拒绝", "bounds": (1, 2, 3, 4)}})
        store.append("run_end", 101.0, {"reason": "done"})
        return store.path


def tamper(run: Path, sql: str, *args) -> None:
    with sqlite3.connect(run / "trace.sqlite") as db:
        db.execute(sql, args)
    db.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_steps_round_trip_in_order_with_their_data(tmp_path):
    run = small_run(tmp_path)
    with RunStore.open(run) as store:
        trace = store.trace()
        assert [s.kind for s in trace.steps] == ["run_start", "observation", "action", "run_end"]
        assert [s.seq for s in trace.steps] == [1, 2, 3, 4]
        assert trace.package == "com.example.a"
        assert trace.steps[2].data["target"] == {"text": "拒绝", "bounds": [1, 2, 3, 4]}
        assert [s.seq for s in store.steps(kinds=("action", "run_end"))] == [3, 4]
        assert store.blob(trace.steps[1].data["png"]) == b"\x89PNG fake screenshot"
        assert store.verify().ok
        assert store.meta()["schema_version"] == SCHEMA_VERSION and store.meta()["tool"]["name"] == "naysayer"
    assert list_runs(tmp_path) == [run]


def test_append_returns_the_step_as_a_reader_will_see_it(tmp_path):
    with RunStore.create(tmp_path, "r") as store:
        live = store.append("action", 1.25, {"type": "tap", "target": {"bounds": (0, 0, 10, 10)}})
        assert live == next(store.steps())  # tuples came back as lists in both


def test_the_hash_chain_is_the_documented_formula(tmp_path):
    run = small_run(tmp_path)
    with sqlite3.connect(run / "trace.sqlite") as db:
        rows = db.execute("SELECT seq, t, kind, data, prev_hash, hash FROM steps ORDER BY seq").fetchall()
    db.close()
    prev = "0" * 64
    for seq, t, kind, data, prev_hash, stored in rows:
        material = f"{prev}\n{seq}\n{t:.6f}\n{kind}\n{data}".encode()
        assert prev_hash == prev
        assert stored == hashlib.sha256(material).hexdigest() == step_hash(prev, seq, t, kind, data)
        prev = stored
    assert '"text":"拒绝"' in rows[2][3]  # canonical JSON: compact, sorted, not ASCII-escaped


def test_blobs_are_content_addressed_and_stored_once(tmp_path):
    with RunStore.create(tmp_path, "r") as store:
        a = store.put_blob(b"same")
        b = store.put_blob(b"same")
        assert a == b == hashlib.sha256(b"same").hexdigest()
        assert store.blob_path(a) == store.path / "blobs" / a[:2] / a
        assert [p.name for p in (store.path / "blobs").rglob("*") if p.is_file()] == [a]  # no temp files left
        with pytest.raises(ValueError):
            store.blob_path("../../etc/passwd")


def test_a_damaged_blob_is_refused_on_read_and_repaired_by_the_next_put(tmp_path):
    with RunStore.create(tmp_path, "r") as store:
        sha = store.put_blob(b"screenshot bytes")
        store.blob_path(sha).write_bytes(b"truncated")
        with pytest.raises(BadBlob, match="does not match its hash"):
            store.blob(sha)
        assert store.put_blob(b"screenshot bytes") == sha
        assert store.blob(sha) == b"screenshot bytes"
        store.blob_path(sha).unlink()
        with pytest.raises(MissingBlob, match=f"blob {sha[:12]} is missing"):
            store.blob(sha)


def test_tampered_step_breaks_the_chain_at_that_step_and_reading_never_rewrites(tmp_path):
    run = small_run(tmp_path)
    tamper(run, "UPDATE steps SET data = replace(data, 'deny', 'allow') WHERE seq = 3")
    before = digest(run / "trace.sqlite")
    with RunStore.open(run) as store:
        report = store.verify()
        assert not report.ok and report.first_bad_seq == 3 and "hash" in report.reason
        with pytest.raises(BrokenChain) as err:
            store.require_intact()
        assert str(err.value).startswith(f"{run}: hash chain broken at step 3: ")
        assert store.trace().steps[2].data["role"] == "allow"
    assert digest(run / "trace.sqlite") == before


def test_tampered_time_is_detected(tmp_path):
    run = small_run(tmp_path)
    tamper(run, "UPDATE steps SET t = t + 0.5 WHERE seq = 2")
    with RunStore.open(run) as store:
        assert store.verify().first_bad_seq == 2


def test_deleted_step_is_detected(tmp_path):
    run = small_run(tmp_path)
    tamper(run, "DELETE FROM steps WHERE seq = 2")
    with RunStore.open(run) as store:
        report = store.verify()
    assert report.first_bad_seq == 2 and "step 2 is missing" in report.reason


def test_deleted_last_steps_are_detected(tmp_path):
    run = small_run(tmp_path)
    tamper(run, "DELETE FROM steps WHERE seq >= 3")
    with RunStore.open(run) as store:
        report = store.verify()
    assert report.first_bad_seq == 3 and "removed" in report.reason


def test_tampered_or_missing_blobs_are_reported_but_the_chain_holds(tmp_path):
    run = small_run(tmp_path)
    with RunStore.open(run) as store:
        obs = next(store.steps(kinds=["observation"]))
        store.blob_path(obs.data["png"]).write_bytes(b"another picture")
        store.blob_path(obs.data["xml"]).unlink()
        report = store.verify()
        assert not report.ok and report.first_bad_seq is None
        assert [(p.seq, p.field, p.sha) for p in report.mismatched_blobs] == [(2, "png", obs.data["png"])]
        assert [(p.seq, p.field, p.sha) for p in report.missing_blobs] == [(2, "xml", obs.data["xml"])]
        assert any("does not match" in p for p in report.blob_problems)
        store.require_intact()  # missing evidence weakens a run; only a broken chain voids it


def test_not_a_run_and_newer_schema_are_one_line_errors(tmp_path):
    with pytest.raises(NotARun) as err:
        RunStore.open(tmp_path)
    assert str(err.value) == f"{tmp_path}: not a naysayer run (no trace.sqlite)"
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "trace.sqlite").write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(NotARun, match="not a naysayer run"):
        RunStore.open(tmp_path / "junk")
    (tmp_path / "other").mkdir()
    sqlite3.connect(tmp_path / "other" / "trace.sqlite").execute("CREATE TABLE x (y)").connection.close()
    with pytest.raises(NotARun, match="not a naysayer run"):
        RunStore.open(tmp_path / "other")
    run = small_run(tmp_path)
    tamper(run, "UPDATE meta SET value = ? WHERE key = 'schema_version'", str(SCHEMA_VERSION + 1))
    with pytest.raises(NewerSchema) as err:
        RunStore.open(run)
    assert str(err.value) == (f"{run}: run schema {SCHEMA_VERSION + 1} is newer than this naysayer "
                              f"({SCHEMA_VERSION}); upgrade naysayer")


def test_a_run_opens_from_its_database_file_and_from_awkward_directory_names(tmp_path):
    run = small_run(tmp_path / "my runs #1 ?%20")
    with RunStore.open(run / "trace.sqlite") as store:
        assert store.path == run and store.verify().ok


def test_unknown_step_kind_bad_data_and_unsafe_run_ids_are_refused(tmp_path):
    with RunStore.create(tmp_path, "r") as store:
        with pytest.raises(ValueError, match="not a step kind"):
            store.append("finding", 1.0, {})
        with pytest.raises(ValueError, match="not a finite number"):
            store.append("event", float("nan"), {})
        with pytest.raises(TypeError, match="not JSON"):
            store.append("event", 1.0, {"value": float("inf")})
        assert store.last_seq == 0  # nothing half-written
    for bad in ("../escape", "..", ".hidden", "a/b", "", "x" * 200):
        with pytest.raises(BadRunId, match="run ids"):
            RunStore.create(tmp_path, bad)
    with pytest.raises(RunExists, match="already exists"):
        RunStore.create(tmp_path, "r")


def test_default_run_ids_name_the_package_safely(tmp_path):
    with RunStore.create(tmp_path, package="com.example.a") as store:
        assert re.fullmatch(r"\d{8}-\d{6}-com\.example\.a-[0-9a-f]{4}", store.path.name)
    with RunStore.create(tmp_path, package="../../x y") as store:
        assert store.path.parent == tmp_path and "/" not in store.path.name and " " not in store.path.name


def test_hostile_text_that_is_not_utf8_is_stored_and_verifies(tmp_path):
    with RunStore.create(tmp_path, "r") as store:
        store.append("observation", 1.0, {"scene": {"text": ["lone \ud800 surrogate", "\u202eevil"]}})
        assert next(store.steps()).data["scene"]["text"][0] == "lone \ud800 surrogate"
        assert store.verify().ok


def test_findings_are_replaced_as_a_whole(tmp_path):
    run = small_run(tmp_path)
    with RunStore.open(run) as store:
        store.write_findings([{"id": "a-1", "kind": "a"}, {"id": "b-2", "kind": "b"}])
        store.write_findings([{"id": "c-3", "kind": "c", "evidence": [2, 3]}])
        assert store.findings() == [{"id": "c-3", "kind": "c", "evidence": [2, 3]}]
        with pytest.raises(ValueError, match="used twice"):
            store.write_findings([{"id": "d", "kind": "d"}, {"id": "d", "kind": "d"}])
        assert [f["id"] for f in store.findings()] == ["c-3"]  # a refused write changes nothing
        assert store.verify().ok  # findings are derived data: rewriting them does not touch the chain


WRITER = """
    import sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from crawler.store import RunStore
    store = RunStore.create(Path({root!r}), "killed")
    i = 0
    while True:
        i += 1
        sha = store.put_blob(b"x" * (1000 + i))
        store.append("observation", float(i), {{"state": "s%d" % i, "xml": sha, "text": "y" * (i % 500)}})
        if i == 50:
            print("ready", flush=True)
"""


def test_a_writer_killed_mid_run_leaves_a_run_that_opens_verifies_and_continues(tmp_path):
    script = textwrap.dedent(WRITER.format(repo=str(REPO), root=str(tmp_path)))
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
        for _ in range(3):  # let it get well into appending, then kill it wherever it is
            os.sched_yield()
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait()
        writer.stdout.close()
    run = tmp_path / "killed"
    with RunStore.open(run) as store:
        count = len(store.trace().steps)
        report = store.verify()
        assert count >= 50 and report.ok, report
        store.append("run_end", float(count + 1), {"reason": "interrupted"})  # a later session may close it
    with RunStore.open(run) as store:
        assert store.verify().ok and store.trace().steps[-1].seq == count + 1


CREATOR = """
import sys
sys.path.insert(0, {repo!r})
import os
from pathlib import Path
from crawler.store import RunStore
print("ready", flush=True)
i = 0
while True:
    RunStore.create(Path({root!r}), f"run-{{os.getpid()}}-{{i:06d}}").close()
    i += 1
"""


def test_a_process_killed_while_creating_runs_leaves_only_runs_that_open(tmp_path):
    script = textwrap.dedent(CREATOR.format(repo=str(REPO), root=str(tmp_path)))
    for _ in range(3):  # killed wherever it is: most of a creation's time is spent building the new run
        creator = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        try:
            assert creator.stdout.readline().strip() == "ready"
            while len(list(tmp_path.glob("run-*"))) < 5:
                os.sched_yield()
            os.kill(creator.pid, signal.SIGKILL)
        finally:
            creator.wait()
            creator.stdout.close()
        runs = sorted(tmp_path.glob("run-*"))
        assert list_runs(tmp_path) == runs  # a half-built run is hidden, never listed
        for run in runs:
            with RunStore.open(run) as store:
                assert store.verify().ok
        for leftover in tmp_path.glob(".run-*"):  # cleared so the next round starts from complete runs only
            shutil.rmtree(leftover)
