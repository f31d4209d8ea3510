"""The run store: `runs/<run-id>/trace.sqlite` (the trace, append-only, hash-chained) and `blobs/` (screenshots and
hierarchies, content-addressed by sha256 in `blobs/<sha[:2]>/<sha>`).

Tables. `meta` (key, value): schema_version (= crawler.trace.SCHEMA_VERSION), tool (JSON {name, version}), created
(host epoch seconds), head ("<seq>:<hash>" of the last step, rewritten in the same transaction as each append).
`steps` (seq, t, kind, data, prev_hash, hash): the trace. `findings` (id, kind, data, created): derived data,
replaced as a whole by `write_findings`, never part of the chain.

Hash chain. Each step row stores `prev_hash` and `hash`, where

    hash = sha256_hex( utf8( prev_hash + "\\n" + str(seq) + "\\n" + format(t, ".6f") + "\\n" + kind + "\\n" + data ) )

`data` is the exact canonical JSON text stored in the row (json.dumps with sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False), `str(seq)` is the decimal integer, `format(t, ".6f")` is t in fixed-point with
six decimals (so t is covered to the microsecond: C "%.6f", JavaScript `t.toFixed(6)`), and the first step's
prev_hash is 64 "0"s. seq counts from 1 with no gaps. Changing, removing, inserting or reordering a step breaks the
chain at that step; removing the last steps is caught by the `head` row (for runs written by this version). The chain
detects edits, not a forger who recomputes every hash: signing the head (evidence bundle) is what pins a run.

Durability. SQLite in WAL mode with synchronous=NORMAL and one transaction per step: a crawl killed at any moment
(SIGKILL, crash) leaves a run that opens and verifies up to its last complete step. Power loss may lose the last
steps, and blobs are not fsynced: `verify` then reports the blobs that did not reach the disk.

Threads and processes. One writer at a time (the session) per run; any number of readers, each with its own
`RunStore.open(...)` (WAL: readers never block the writer nor see half a step). A RunStore's own connection is
guarded by a lock, so sharing one object between threads is safe but serialised.

Opening never writes: `open` uses a read-only connection; only `append` and `write_findings` switch an opened run
to a writable connection, and they are explicit.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from crawler.errors import UserError
from crawler.trace import SCHEMA_VERSION, STEP_KINDS, Step, Trace
from crawler.version import TOOL

DB_NAME = "trace.sqlite"
BLOBS = "blobs"
GENESIS = "0" * 64
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,159}$")
SHA = re.compile(r"^[0-9a-f]{64}$")
BLOB_FIELDS = ("xml", "png")  # top-level step data fields that name blobs
PROBLEMS_KEPT = 100  # blob problems listed in a report (a run with thousands is simply broken)
READ_CHUNK = 512

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS steps (
    seq INTEGER PRIMARY KEY, t REAL NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (id TEXT PRIMARY KEY, kind TEXT NOT NULL, data TEXT NOT NULL, created REAL);
"""


class NotARun(UserError):
    """The path is not a naysayer run (no trace.sqlite, or not one of ours)."""


class NewerSchema(UserError):
    """The run was written by a newer naysayer."""


class RunExists(UserError, FileExistsError):
    """`create` was asked for a run directory that already exists."""


class BadRunId(UserError, ValueError):
    """A run id with characters that are not safe in a path."""


class UnknownStepKind(ValueError):
    pass


class MissingBlob(UserError, FileNotFoundError):
    pass


class BadBlob(UserError, ValueError):
    """A blob whose content does not match its name (tampered or truncated)."""


class BrokenChain(UserError):
    def __init__(self, path: Path, seq: int, reason: str):
        super().__init__(f"{path}: hash chain broken at step {seq}: {reason}")
        self.path, self.seq, self.reason = path, seq, reason


@dataclass(frozen=True)
class BlobProblem:
    seq: int  # the step that names the blob
    field: str  # "xml" | "png"
    sha: str
    problem: str  # "missing" | "mismatched" | "not a sha256"

    def __str__(self) -> str:
        what = {"missing": "is missing", "mismatched": "does not match its hash"}.get(self.problem, self.problem)
        return f"step {self.seq} {self.field}: blob {self.sha[:12]} {what}"


@dataclass
class ChainReport:
    """What `verify` found. `ok` = the chain is intact AND every referenced blob is present and matches."""

    ok: bool
    steps: int = 0  # rows read
    first_bad_seq: int | None = None  # None: the chain itself is intact
    reason: str = ""
    blob_problems: list[str] = field(default_factory=list)  # one line each, for display
    missing_blobs: list[BlobProblem] = field(default_factory=list)
    mismatched_blobs: list[BlobProblem] = field(default_factory=list)
    head: str = GENESIS  # hash of the last step that verified

    @property
    def chain_ok(self) -> bool:
        return self.first_bad_seq is None


def canonical(data: dict[str, Any]) -> str:
    """The JSON text stored and hashed for a step's data (and for findings). Text that cannot be UTF-8 (a lone
    surrogate from hostile input) is written with \\u escapes instead: the stored text is what is hashed."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return text


def step_hash(prev_hash: str, seq: int, t: float, kind: str, data_text: str) -> str:
    material = f"{prev_hash}\n{seq}\n{format(t, '.6f')}\n{kind}\n{data_text}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def new_run_id(package: str = "", now: float | None = None) -> str:
    """`20261128-015812-<package>-<4 hex>`; anything but letters, digits, '.', '_' in the package becomes '_'."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    safe = re.sub(r"[^A-Za-z0-9._]", "_", package)[:100].strip(".") or "run"
    return f"{stamp}-{safe}-{secrets.token_hex(2)}"


def _connect_rw(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, check_same_thread=False, isolation_level=None, timeout=10.0)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _connect_ro(db: Path) -> sqlite3.Connection:
    # A URI from as_uri() percent-encodes the path, so '?', '#', '%' or spaces in a directory name stay a path.
    uri = db.resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=10.0)


class RunStore:
    """One run directory. Create with `RunStore.create`, read with `RunStore.open`; use as a context manager."""

    def __init__(self, path: Path, conn: sqlite3.Connection, writable: bool):
        self.path = path
        self._conn = conn
        self._writable = writable
        self._lock = threading.RLock()
        try:
            last = conn.execute("SELECT seq, hash FROM steps ORDER BY seq DESC LIMIT 1").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise NotARun(f"{path}: not a naysayer run ({str(exc)[:120]})") from None
        self._last_seq, self._last_hash = (int(last[0]), str(last[1])) if last else (0, GENESIS)

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r}, steps={self._last_seq})"

    # -- opening ----------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path, run_id: str | None = None, *, package: str = "") -> RunStore:
        """A new, empty run `root/<run_id>` (run_id defaults to `new_run_id(package)`)."""
        if run_id is None:
            run_id = new_run_id(package)
        if not isinstance(run_id, str) or not RUN_ID.match(run_id):
            raise BadRunId(f"{run_id!r}: run ids use letters, digits, '.', '_' and '-' only "
                           "(and start with a letter or digit)")
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        path = root / run_id
        try:
            path.mkdir()
        except FileExistsError:
            raise RunExists(f"{path}: a run (or other directory) already exists there") from None
        (path / BLOBS).mkdir()
        conn = _connect_rw(path / DB_NAME)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(SCHEMA)
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("schema_version", str(SCHEMA_VERSION)), ("tool", canonical(TOOL)), ("created", repr(time.time())),
            ("head", f"0:{GENESIS}")])
        conn.execute("COMMIT")
        return cls(path, conn, writable=True)

    @classmethod
    def open(cls, path: Path) -> RunStore:
        """An existing run, read-only until you append or write findings. Accepts the run directory or its
        trace.sqlite. Raises NotARun or NewerSchema (one line each)."""
        path = Path(path)
        if path.name == DB_NAME and path.is_file():
            path = path.parent
        db = path / DB_NAME
        if not db.is_file():
            raise NotARun(f"{path}: not a naysayer run (no {DB_NAME})")
        try:
            conn = _connect_ro(db)
        except sqlite3.Error as exc:
            raise NotARun(f"{path}: not a naysayer run ({str(exc)[:120]})") from None
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.Error as exc:
            conn.close()
            raise NotARun(f"{path}: not a naysayer run ({str(exc)[:120]})") from None
        version = str(row[0]) if row else ""
        if not version.isdigit():
            conn.close()
            raise NotARun(f"{path}: not a naysayer run (no schema version)")
        if int(version) > SCHEMA_VERSION:
            conn.close()
            raise NewerSchema(f"{path}: run schema {int(version)} is newer than this naysayer ({SCHEMA_VERSION}); "
                              "upgrade naysayer")
        return cls(path, conn, writable=False)

    def _writer(self) -> sqlite3.Connection:
        """The connection, switched to read-write the first time an opened run is written to."""
        if not self._writable:
            self._conn.close()
            self._conn = _connect_rw(self.path / DB_NAME)
            self._writable = True
        return self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def meta(self) -> dict[str, Any]:
        with self._lock:
            rows = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        out: dict[str, Any] = dict(rows)
        if str(rows.get("schema_version", "")).isdigit():
            out["schema_version"] = int(rows["schema_version"])
        try:
            out["tool"] = json.loads(rows.get("tool", "{}"))
        except ValueError:
            pass
        return out

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def head(self) -> str:
        """The hash of the last step appended or read at opening (GENESIS for an empty run)."""
        return self._last_hash

    # -- the trace --------------------------------------------------------------------------------------------
    def append(self, kind: str, t: float, data: dict[str, Any]) -> Step:
        """Record one step (committed before returning). Returns the Step as a reader will see it: its data is
        the stored JSON parsed back (tuples become lists), so live and offline analyses see the same values."""
        if kind not in STEP_KINDS:
            raise UnknownStepKind(f"{kind!r}: not a step kind ({', '.join(STEP_KINDS)})")
        t = float(t)
        if not math.isfinite(t):
            raise ValueError(f"{kind} step: time {t!r} is not a finite number")
        if not isinstance(data, dict):
            raise TypeError(f"{kind} step: data must be a dict, not {type(data).__name__}")
        try:
            text = canonical(data)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{kind} step: data is not JSON ({exc})") from None
        with self._lock:
            seq = self._last_seq + 1
            digest = step_hash(self._last_hash, seq, t, kind, text)
            conn = self._writer()
            conn.execute("BEGIN")
            try:
                conn.execute("INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?)",
                             (seq, t, kind, text, self._last_hash, digest))
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('head', ?)", (f"{seq}:{digest}",))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._last_seq, self._last_hash = seq, digest
        return Step(seq, t, kind, json.loads(text))

    def steps(self, kinds: Iterable[str] | None = None) -> Iterator[Step]:
        """Steps in seq order, optionally only some kinds. Reads in chunks; do not append while iterating."""
        sql, args = "SELECT seq, t, kind, data FROM steps", ()
        if kinds is not None:
            kinds = tuple(kinds)
            sql += f" WHERE kind IN ({','.join('?' * len(kinds))})" if kinds else " WHERE 0"
            args = kinds
        with self._lock:
            cursor = self._conn.execute(sql + " ORDER BY seq", args)
        while True:
            with self._lock:
                rows = cursor.fetchmany(READ_CHUNK)
            if not rows:
                return
            for seq, t, kind, text in rows:
                yield Step(seq, t, kind, json.loads(text))

    def trace(self) -> Trace:
        return Trace(list(self.steps()))

    def verify(self) -> ChainReport:
        """Check the hash chain from the first step, then that every blob named by a step's xml/png is present
        and matches its hash. Stops at the first broken step. Never writes."""
        report = ChainReport(ok=True)
        checked: dict[str, str] = {}  # sha -> problem ("" = fine), each blob read once
        prev, expected = GENESIS, 1
        with self._lock:  # one read transaction: the rows and the head are one snapshot
            self._conn.execute("BEGIN")
            try:
                head_row = self._conn.execute("SELECT value FROM meta WHERE key = 'head'").fetchone()
                rows = self._conn.execute("SELECT seq, t, kind, data, prev_hash, hash FROM steps ORDER BY seq")
                for seq, t, kind, text, prev_hash, digest in rows:  # streamed: a long run is not held in memory
                    report.steps += 1
                    bad = self._bad_step(seq, t, kind, text, prev_hash, digest, prev, expected)
                    if bad:
                        report.first_bad_seq, report.reason = bad
                        break
                    self._check_blobs(seq, text, checked, report)
                    prev, expected = digest, seq + 1
            finally:
                self._conn.execute("COMMIT")
        report.head = prev
        if report.first_bad_seq is None and head_row is not None:
            self._check_head(str(head_row[0]), expected - 1, prev, report)
        report.ok = report.first_bad_seq is None and not report.missing_blobs and not report.mismatched_blobs
        if report.first_bad_seq is None and not report.ok:
            report.reason = "; ".join(report.blob_problems[:3])
        return report

    @staticmethod
    def _bad_step(seq: Any, t: Any, kind: Any, text: Any, prev_hash: Any, digest: Any, prev: str,
                  expected: int) -> tuple[int, str] | None:
        if not isinstance(seq, int) or seq < expected:
            return (seq if isinstance(seq, int) else expected), "a step that does not belong in the sequence"
        if seq > expected:
            if seq == expected + 1:
                return expected, f"step {expected} is missing"
            return expected, f"steps {expected}-{seq - 1} are missing"
        if not isinstance(t, (int, float)) or not isinstance(kind, str) or not isinstance(text, str):
            return seq, "its columns have the wrong types"
        if prev_hash != prev:
            return seq, "its previous-hash does not match the step before it"
        if step_hash(prev, seq, float(t), kind, text) != digest:
            return seq, "its content does not match its hash"
        return None

    def _check_head(self, head: str, last_seq: int, last_hash: str, report: ChainReport) -> None:
        seq_text, _, digest = head.partition(":")
        if not seq_text.isdigit():
            report.first_bad_seq, report.reason = last_seq + 1, "the recorded head of the chain is unreadable"
        elif int(seq_text) > last_seq:
            report.first_bad_seq = last_seq + 1
            report.reason = f"the run recorded {int(seq_text)} steps but only {last_seq} are left (steps removed)"
        elif int(seq_text) < last_seq or digest != last_hash:
            report.first_bad_seq = int(seq_text) + 1 if int(seq_text) < last_seq else last_seq
            report.reason = "the steps do not end where the run recorded its last step"

    def _check_blobs(self, seq: int, text: str, checked: dict[str, str], report: ChainReport) -> None:
        if '"xml"' not in text and '"png"' not in text:  # cheap skip: most steps name no blob
            return
        try:
            data = json.loads(text)
        except ValueError:
            return  # the hash matched, so this is how it was recorded; nothing to check
        if not isinstance(data, dict):
            return
        for name in BLOB_FIELDS:
            sha = data.get(name)
            if not sha:
                continue
            sha = str(sha)
            if sha not in checked:
                checked[sha] = self._blob_problem(sha)
            if checked[sha]:
                problem = BlobProblem(seq, name, sha, checked[sha])
                target = report.missing_blobs if checked[sha] == "missing" else report.mismatched_blobs
                if len(target) < PROBLEMS_KEPT:
                    target.append(problem)
                    report.blob_problems.append(str(problem))

    def require_intact(self) -> ChainReport:
        """`verify`, raising BrokenChain if the chain is broken (blob problems alone do not raise)."""
        report = self.verify()
        if report.first_bad_seq is not None:
            raise BrokenChain(self.path, report.first_bad_seq, report.reason)
        return report

    # -- blobs ------------------------------------------------------------------------------------------------
    def blob_path(self, sha: str) -> Path:
        if not isinstance(sha, str) or not SHA.match(sha):
            raise ValueError(f"{str(sha)[:80]!r}: not a sha256")
        return self.path / BLOBS / sha[:2] / sha

    def put_blob(self, data: bytes) -> str:
        """Store bytes once under their sha256 (atomic: temp file + rename); returns the sha256."""
        data = bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        target = self.blob_path(sha)
        try:
            if target.stat().st_size == len(data):
                return sha  # already stored (a size mismatch means a damaged copy: rewrite it)
        except FileNotFoundError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def blob(self, sha: str, check: bool = True) -> bytes:
        """A blob's bytes. Raises MissingBlob, or BadBlob if `check` and its content does not match its name."""
        path = self.blob_path(sha)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise MissingBlob(f"{self.path}: blob {sha[:12]} is missing") from None
        if check and hashlib.sha256(data).hexdigest() != sha:
            raise BadBlob(f"{self.path}: blob {sha[:12]} does not match its hash (tampered or damaged)")
        return data

    def _blob_problem(self, sha: str) -> str:
        try:
            path = self.blob_path(sha)
        except ValueError:
            return "not a sha256"
        digest = hashlib.sha256()
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
        except (FileNotFoundError, IsADirectoryError):
            return "missing"
        return "" if digest.hexdigest() == sha else "mismatched"

    # -- findings (derived, rewritable) -----------------------------------------------------------------------
    def write_findings(self, findings: list[dict[str, Any]]) -> None:
        """Replace all findings in one transaction. Each needs a unique string `id` and a string `kind`."""
        rows, seen = [], set()
        for f in findings:
            fid, kind = f.get("id"), f.get("kind")
            if not isinstance(fid, str) or not isinstance(kind, str):
                raise TypeError(f"finding {str(fid)[:80]!r}: needs a string id and kind")
            if fid in seen:
                raise ValueError(f"finding {fid[:80]!r}: id used twice")
            seen.add(fid)
            rows.append((fid, kind, canonical(f)))
        now = time.time()
        with self._lock:
            conn = self._writer()
            conn.execute("BEGIN")
            try:
                conn.execute("DELETE FROM findings")
                conn.executemany("INSERT INTO findings VALUES (?, ?, ?, ?)", [(*r, now) for r in rows])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def findings(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute("SELECT data FROM findings ORDER BY rowid").fetchall()
        return [json.loads(text) for (text,) in rows]


def list_runs(root: Path) -> list[Path]:
    """Run directories directly under `root`, oldest first (run ids start with their creation time)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / DB_NAME).is_file())
