"""The run store: `runs/<run-id>/trace.sqlite` (the trace, append-only, hash-chained) and `blobs/` (screenshots and
hierarchies, content-addressed by sha256 in `blobs/<sha[:2]>/<sha>`).

Tables. `meta` (key, value): schema_version (= crawler.trace.SCHEMA_VERSION), tool (JSON {name, version}), created
(host epoch seconds), head ("<seq>:<hash>" of the last step, rewritten in the same transaction as each append),
findings (the findings record, below). `steps` (seq, t, kind, data, prev_hash, hash): the trace. `findings` (id, kind,
data, created): derived data, replaced as a whole by `write_findings`.

Hash chain. Each step row stores `prev_hash` and `hash`, where

    hash = sha256_hex( utf8( prev_hash + "\\n" + str(seq) + "\\n" + format(t, ".6f") + "\\n" + kind + "\\n" + data ) )

`data` is the exact canonical JSON text stored in the row (json.dumps with sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False), `str(seq)` is the decimal integer, `format(t, ".6f")` is t in fixed-point with
six decimals (so t is covered to the microsecond: C "%.6f", JavaScript `t.toFixed(6)`), and the first step's
prev_hash is 64 "0"s. seq counts from 1 with no gaps. Changing, removing, inserting or reordering a step breaks the
chain at that step; removing the last steps is caught by the `head` row (for runs written by this version). The chain
detects edits, not a forger who recomputes every hash: signing the head (evidence bundle) is what pins a run.
crawler/chain.py computes the links and holds the one walker that checks them (here, in export and in bundles).

Findings are derived, and sealed. `meta.findings` is "pending" from `create` until findings are derived; then
`write_findings` replaces the findings and this record in one transaction: canonical JSON
{head_seq, head, detectors, findings: [[id, sha256(canonical finding)], ...], hash}, where

    hash = sha256_hex( utf8( "naysayer findings\n" + head + "\n" + str(head_seq) + "\n" + detectors + "\n"
                             + "".join(id + " " + sha256 + "\n" for each finding, in order) ) )

so the record names the trace head the findings were derived from and the detector version that derived them.
`verify` (and `findings_status`, which reads no step but the head) checks the record against the rows: a changed
finding, one added or one deleted is named; findings derived from another head than the run's are stale. A run
whose record is "pending" never had its findings derived (a killed crawl): it says so, it never passes for a run
without findings. Runs written before the record existed have no `meta.findings`: their findings are "unsealed",
which verify reports as a problem (they cannot be checked, and a removed record looks the same) until `analyze`.
Like the chain, the record detects edits, not a forger who recomputes it; `naysayer analyze RUN` re-derives.

Durability. SQLite in WAL mode with synchronous=NORMAL and one transaction per step: a crawl killed at any moment
(SIGKILL, crash) leaves a run that opens and verifies up to its last complete step. Power loss may lose the last
steps, and blobs are not fsynced: `verify` then reports the blobs that did not reach the disk.

Threads and processes. One writer at a time (the session) per run; any number of readers, each with its own
`RunStore.open(...)` (WAL: readers never block the writer nor see half a step). A RunStore's own connection is
guarded by a lock, so sharing one object between threads is safe but serialised.

Opening never writes: `open` uses a read-only connection (immutable when no writer left a `-wal` file, so reading
a closed run leaves no `-wal`/`-shm` behind); only `append` and `write_findings` switch an opened run to a writable
connection, and they are explicit. A damaged database (truncated, bytes that are not UTF-8, rows of the wrong type)
is never a traceback: readers raise DamagedRun (one line), `verify` reports it as the place the chain breaks.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Self

from crawler.chain import GENESIS, Break, ChainWalker, step_hash
from crawler.errors import UserError
from crawler.trace import SCHEMA_VERSION, STEP_KINDS, Step, Trace
from crawler.version import TOOL, VERSION

DB_NAME = "trace.sqlite"
BLOBS = "blobs"
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,159}$")
SHA = re.compile(r"^[0-9a-f]{64}$")
BLOB_FIELDS = ("xml", "png")  # top-level step data fields that name blobs
BLOB_LIMIT = 64 << 20  # bytes: a screenshot or hierarchy dump larger than this is not one (8 MB hierarchy limit)
PROBLEMS_KEPT = 100  # blob problems listed in a report (a run with thousands is simply broken)
READ_CHUNK = 512
# What reading a damaged database raises: SQLite's errors, and UnicodeDecodeError when the schema's own text (which
# Python decodes for column names) is not UTF-8.
DB_ERRORS = (sqlite3.Error, UnicodeDecodeError)
DETECTORS = f"naysayer {VERSION}"  # the detector version a findings record names
PENDING = "pending"  # meta.findings of a run whose findings were never derived
FINDINGS_TAG = "naysayer findings"
UNSEALED = ("the findings are not sealed (recorded by an older naysayer, or their record was removed), so they cannot "
            "be checked; `naysayer analyze RUN` re-derives and seals them")

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


class DamagedRun(UserError):
    """The run's database cannot be read where it was asked to be (truncated, not UTF-8, a row of the wrong type)."""


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
class FindingsStatus:
    """What the findings record says about the stored findings.

    state: "sealed" (derived and matching their record), "pending" (never derived: the crawl did not finish),
    "unsealed" (a run from before findings were sealed), "tampered" (rows and record disagree: `problems` names
    each changed, added or deleted finding), "stale" (derived from another head than the run's)."""

    state: str
    count: int = 0  # findings stored
    detectors: str = ""
    head_seq: int = 0  # the head they were derived from
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def derived(self) -> bool:
        return self.state != "pending"

    def line(self) -> str:
        """One line for `verify` and the report."""
        if self.problems:
            more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
            return "findings: " + "; ".join(self.problems[:3]) + more
        if self.state == "pending":
            return "findings: never derived (the crawl did not finish); `naysayer analyze RUN` derives them"
        return f"findings: {self.count}, sealed to step {self.head_seq} by {self.detectors}"


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
    findings: FindingsStatus = field(default_factory=lambda: FindingsStatus("unsealed"))

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


def new_run_id(package: str = "", now: float | None = None) -> str:
    """`20261128-015812-<package>-<4 hex>`; anything but letters, digits, '.', '_' in the package becomes '_'."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    safe = re.sub(r"[^A-Za-z0-9._]", "_", package)[:100].strip(".") or "run"
    return f"{stamp}-{safe}-{secrets.token_hex(2)}"


def _connect_rw(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, check_same_thread=False, isolation_level=None, timeout=10.0)
    conn.text_factory = _text
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _connect_ro(db: Path) -> sqlite3.Connection:
    """Read-only. A run no writer holds (no `-wal` beside it: every connection closed cleanly) is opened immutable, so
    reading it creates no `-wal`/`-shm` files; a run being written, or killed with its last steps still in the
    `-wal`, is opened through the WAL to see them."""
    # A URI from as_uri() percent-encodes the path, so '?', '#', '%' or spaces in a directory name stay a path.
    closed = not db.with_name(db.name + "-wal").exists()
    uri = db.resolve().as_uri() + ("?mode=ro&immutable=1" if closed else "?mode=ro")
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=10.0)
    conn.text_factory = _text  # bytes that are not UTF-8 (damage) are read, never an error
    return conn


def _rollback(conn: sqlite3.Connection) -> None:
    """Undo a failed write; a failure that already ended the transaction (or the connection) leaves nothing to undo."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _damage(exc: BaseException) -> str:
    """A database error as a short phrase."""
    return " ".join(str(exc).split())[:120] or type(exc).__name__


class RunStore:
    """One run directory. Create with `RunStore.create`, read with `RunStore.open`; use as a context manager."""

    def __init__(self, path: Path, conn: sqlite3.Connection, writable: bool):
        self.path = path
        self._conn = conn
        self._writable = writable
        self._lock = threading.RLock()
        try:
            last = conn.execute("SELECT seq, hash FROM steps ORDER BY seq DESC LIMIT 1").fetchone()
        except DB_ERRORS as exc:
            conn.close()
            raise NotARun(f"{path}: not a naysayer run ({str(exc)[:120]})") from None
        if last is not None and not isinstance(last[0], int):
            conn.close()
            raise DamagedRun(f"{path}: the run's database is damaged (its last step has no number)")
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
        if path.exists():
            raise RunExists(f"{path}: a run (or other directory) already exists there")
        # Built in a hidden folder and renamed into place whole, so a process killed at any moment leaves either no
        # run or one that opens (never a folder with an empty trace.sqlite); list_runs() skips the hidden folder.
        building = root / f".{run_id}.{secrets.token_hex(4)}.creating"
        building.mkdir()
        try:
            (building / BLOBS).mkdir()
            conn = _connect_rw(building / DB_NAME)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(SCHEMA)
                conn.execute("BEGIN")
                conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                    ("schema_version", str(SCHEMA_VERSION)), ("tool", canonical(TOOL)),
                    ("created", repr(time.time())), ("head", f"0:{GENESIS}"), ("findings", PENDING)])
                conn.execute("COMMIT")
            finally:
                conn.close()
            try:
                os.rename(building, path)  # fails on a non-empty folder that appeared meanwhile
            except OSError:
                raise RunExists(f"{path}: a run (or other directory) already exists there") from None
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        return cls(path, _connect_rw(path / DB_NAME), writable=True)

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
        except DB_ERRORS as exc:
            raise NotARun(f"{path}: not a naysayer run ({str(exc)[:120]})") from None
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except DB_ERRORS as exc:
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
        try:
            with self._lock:
                rows = {str(k): str(v) for k, v in self._conn.execute("SELECT key, value FROM meta").fetchall()}
        except DB_ERRORS as exc:
            raise DamagedRun(f"{self.path}: the run's database is damaged ({_damage(exc)})") from None
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
                _rollback(conn)
                raise
            self._last_seq, self._last_hash = seq, digest
        return Step(seq, t, kind, json.loads(text))

    def steps(self, kinds: Iterable[str] | None = None, *, stop_at_damage: bool = False) -> Iterator[Step]:
        """Steps in seq order, optionally only some kinds. Reads in chunks; do not append while iterating.
        A row that cannot be read (not JSON, wrong types, a damaged page) raises DamagedRun naming the step, or,
        with `stop_at_damage`, ends the steps there and is named in `self.damage` (a report still shows the rest)."""
        sql, args = "SELECT seq, t, kind, data FROM steps", ()
        if kinds is not None:
            kinds = tuple(kinds)
            sql += f" WHERE kind IN ({','.join('?' * len(kinds))})" if kinds else " WHERE 0"
            args = kinds
        self.damage = ""
        last = 0
        try:
            with self._lock:
                cursor = self._conn.execute(sql + " ORDER BY seq", args)
            while True:
                with self._lock:
                    rows = cursor.fetchmany(READ_CHUNK)
                if not rows:
                    return
                for seq, t, kind, text in rows:
                    step = _step(seq, t, kind, text)
                    if isinstance(step, str):
                        self._damaged(f"step {seq}: {step}", stop_at_damage)
                        return
                    last = step.seq
                    yield step
        except DB_ERRORS as exc:
            self._damaged(f"after step {last}: the database is damaged ({_damage(exc)})", stop_at_damage)

    def _damaged(self, what: str, quietly: bool) -> None:
        self.damage = what
        if not quietly:
            raise DamagedRun(f"{self.path}: {what}; `naysayer verify` says more")

    def links(self) -> Iterator[tuple[Step, str, Any, Any]]:
        """Every step with its stored text, prev_hash and hash (what export checks with the chain walker), in seq
        order; a row that cannot be read raises DamagedRun."""
        last = 0
        try:
            with self._lock:
                cursor = self._conn.execute("SELECT seq, t, kind, data, prev_hash, hash FROM steps ORDER BY seq")
            while True:
                with self._lock:
                    rows = cursor.fetchmany(READ_CHUNK)
                if not rows:
                    return
                for seq, t, kind, text, prev_hash, digest in rows:
                    step = _step(seq, t, kind, text)
                    if isinstance(step, str):
                        self._damaged(f"step {seq}: {step}", False)
                    last = step.seq
                    yield step, text, prev_hash, digest
        except DB_ERRORS as exc:
            self._damaged(f"after step {last}: the database is damaged ({_damage(exc)})", False)

    def trace(self, *, stop_at_damage: bool = False) -> Trace:
        return Trace(list(self.steps(stop_at_damage=stop_at_damage)))

    def verify(self) -> ChainReport:
        """Check the hash chain from the first step, then that every blob named by a step's xml/png is present
        and matches its hash, then the findings against their record. Stops at the first broken step. A damaged
        database is where the chain breaks. Never writes."""
        report = ChainReport(ok=True)
        checked: dict[str, str] = {}  # sha -> problem ("" = fine), each blob read once
        walker = ChainWalker()
        record = head_row = None
        hashes: dict[int, str] = {}  # the link at the step the findings record names
        found: list[tuple[str, str]] = []
        with self._lock:  # one read transaction: the rows, the head and the findings are one snapshot
            try:
                self._conn.execute("BEGIN")
                try:
                    head_row = self._conn.execute("SELECT value FROM meta WHERE key = 'head'").fetchone()
                    record = self._findings_record()
                    wanted = record.get("head_seq") if isinstance(record, dict) else None
                    rows = self._conn.execute("SELECT seq, t, kind, data, prev_hash, hash FROM steps ORDER BY seq")
                    for seq, t, kind, text, prev_hash, digest in rows:  # streamed: a long run is not held in memory
                        report.steps += 1
                        bad = walker.step(seq, t, kind, text, prev_hash, digest)
                        if bad:
                            report.first_bad_seq, report.reason = bad.seq, bad.reason
                            break
                        if seq == wanted:
                            hashes[seq] = digest
                        self._check_blobs(seq, text, checked, report)
                    if report.first_bad_seq is None:
                        found = self._read_findings_rows()
                finally:
                    self._conn.execute("COMMIT")
            except DB_ERRORS as exc:
                report.first_bad_seq = walker.last + 1
                report.reason = f"the database is damaged ({_damage(exc)})"
        report.head = walker.prev
        if report.first_bad_seq is None and head_row is not None:
            self._check_head(str(head_row[0]), walker, report)
        if report.first_bad_seq is None:
            report.findings = self._judge_findings(record, found, walker.last, walker.prev, hashes)
        else:
            report.findings = FindingsStatus("unchecked", problems=["not checked: the chain they come from is broken"])
        report.ok = (report.first_bad_seq is None and not report.missing_blobs and not report.mismatched_blobs
                     and report.findings.ok)
        if report.first_bad_seq is None and not report.ok:
            report.reason = "; ".join([*report.blob_problems[:3], *report.findings.problems[:3]][:3])
        return report

    @staticmethod
    def _check_head(head: str, walker: ChainWalker, report: ChainReport) -> None:
        seq_text, _, digest = head.partition(":")
        bad: Break | None
        if not seq_text.isdigit() or len(seq_text) > 18:
            bad = Break(walker.last + 1, "the recorded head of the chain is unreadable")
        else:
            bad = walker.end(int(seq_text), digest)
        if bad:
            report.first_bad_seq, report.reason = bad.seq, bad.reason

    def _check_blobs(self, seq: int, text: str, checked: dict[str, str], report: ChainReport) -> None:
        if '"xml"' not in text and '"png"' not in text:  # cheap skip: most steps name no blob
            return
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
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
        """A blob's bytes. Raises MissingBlob, or BadBlob if it is not a regular file of at most BLOB_LIMIT bytes or
        (`check`) its content does not match its name."""
        path = self.blob_path(sha)
        handle = open_blob(path)
        if handle is None:
            raise MissingBlob(f"{self.path}: blob {sha[:12]} is missing")
        if isinstance(handle, str):
            raise BadBlob(f"{self.path}: blob {sha[:12]} {handle}")
        with handle:
            data = handle.read(BLOB_LIMIT + 1)
        if len(data) > BLOB_LIMIT:
            raise BadBlob(f"{self.path}: blob {sha[:12]} is larger than {BLOB_LIMIT} bytes")
        if check and hashlib.sha256(data).hexdigest() != sha:
            raise BadBlob(f"{self.path}: blob {sha[:12]} does not match its hash (tampered or damaged)")
        return data

    def _blob_problem(self, sha: str) -> str:
        try:
            path = self.blob_path(sha)
        except ValueError:
            return "not a sha256"
        handle = open_blob(path)
        if handle is None:
            return "missing"
        if isinstance(handle, str):
            return handle
        digest, size = hashlib.sha256(), 0
        with handle:
            while chunk := handle.read(1 << 20):
                size += len(chunk)
                if size > BLOB_LIMIT:
                    return f"is larger than {BLOB_LIMIT} bytes"
                digest.update(chunk)
        return "" if digest.hexdigest() == sha else "mismatched"

    # -- findings (derived, sealed to the head they were derived from) -----------------------------------------
    def write_findings(self, findings: list[dict[str, Any]], detectors: str = DETECTORS) -> None:
        """Replace all findings, and their record (the head they were derived from and `detectors`, the version
        that derived them), in one transaction. Each finding needs a unique string `id` and a string `kind`."""
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
            sums = [[fid, _sha(text)] for fid, _, text in rows]
            record = {"head_seq": self._last_seq, "head": self._last_hash, "detectors": str(detectors),
                      "findings": sums}
            record["hash"] = findings_hash(record)
            try:
                conn = self._writer()
                conn.execute("BEGIN")
                try:
                    conn.execute("DELETE FROM findings")
                    conn.executemany("INSERT INTO findings VALUES (?, ?, ?, ?)", [(*r, now) for r in rows])
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('findings', ?)", (canonical(record),))
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise
            except DB_ERRORS as exc:
                raise DamagedRun(f"{self.path}: the findings could not be written ({_damage(exc)})") from None

    def findings(self) -> list[dict[str, Any]]:
        """The stored findings (whatever their record says: `findings_status` or `verify` tells)."""
        try:
            with self._lock:
                rows = self._conn.execute("SELECT data FROM findings ORDER BY rowid").fetchall()
        except DB_ERRORS as exc:
            raise DamagedRun(f"{self.path}: the findings table is damaged ({_damage(exc)})") from None
        out = []
        for (text,) in rows:
            try:
                finding = json.loads(text) if isinstance(text, str) else None
            except (ValueError, RecursionError):
                finding = None
            if not isinstance(finding, dict):
                raise DamagedRun(f"{self.path}: a stored finding is not JSON (damaged or edited); "
                                 "`naysayer analyze RUN` re-derives the findings")
            out.append(finding)
        return out

    def findings_status(self) -> FindingsStatus:
        """The findings against their record, without walking the chain: the record's head must be the run's
        last step (its hash as stored); `verify` also proves that hash is the chain's."""
        try:
            with self._lock:
                self._conn.execute("BEGIN")
                try:
                    record = self._findings_record()
                    found = self._read_findings_rows()
                    wanted = record.get("head_seq") if isinstance(record, dict) else None
                    row = (self._conn.execute("SELECT hash FROM steps WHERE seq = ?", (wanted,)).fetchone()
                           if isinstance(wanted, int) and not isinstance(wanted, bool) else None)
                    last = self._conn.execute("SELECT seq, hash FROM steps ORDER BY seq DESC LIMIT 1").fetchone()
                finally:
                    self._conn.execute("COMMIT")
        except DB_ERRORS as exc:
            return FindingsStatus("tampered", problems=[f"the database is damaged ({_damage(exc)})"])
        hashes = {wanted: str(row[0])} if row is not None else {}
        last_seq, last_hash = (int(last[0]), str(last[1])) if last else (0, GENESIS)
        return self._judge_findings(record, found, last_seq, last_hash, hashes)

    def _findings_record(self) -> Any:
        """meta.findings: None (a run from before records), PENDING, the parsed record, or "" (unreadable)."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'findings'").fetchone()
        if row is None:
            return None
        if row[0] == PENDING:
            return PENDING
        try:
            record = json.loads(row[0]) if isinstance(row[0], str) else None
        except (ValueError, RecursionError):
            return ""
        return record if isinstance(record, dict) else ""

    def _read_findings_rows(self) -> list[tuple[str, str]]:
        """(id, sha256 of the stored text) per row; the id is the one the finding's own JSON names (what readers
        show), else the row's."""
        found = []
        for fid, text in self._conn.execute("SELECT id, data FROM findings ORDER BY rowid"):
            text = text if isinstance(text, str) else str(text)
            try:
                own = json.loads(text).get("id")
            except (ValueError, RecursionError, AttributeError):
                own = None
            shown = own if isinstance(own, str) else str(fid)
            found.append((shown if shown == str(fid) else f"{shown} (stored as {fid})", _sha(text)))
        return found

    def _judge_findings(self, record: Any, found: list[tuple[str, str]], last_seq: int, last_hash: str,
                        hashes: dict[int, str]) -> FindingsStatus:
        if record is None:  # a run from before records, or one whose record was removed: nothing to check against
            return FindingsStatus("unsealed", count=len(found), problems=[UNSEALED])
        if record == PENDING:
            status = FindingsStatus("pending", count=len(found))
            if found:
                status.state = "tampered"
                status.problems = [f"finding {_shown(fid)} was added to a run whose findings were never derived"
                                   for fid, _ in found[:PROBLEMS_KEPT]]
            return status
        sums = record.get("findings") if isinstance(record, dict) else None
        if (not isinstance(record, dict) or findings_hash(record) != record.get("hash")
                or not isinstance(record.get("head_seq"), int) or not isinstance(sums, list)):
            return FindingsStatus("tampered", count=len(found), problems=[
                "the findings record is damaged or was edited (it does not match its own hash)"])
        status = FindingsStatus("sealed", count=len(found), detectors=_shown(str(record.get("detectors")))[1:-1],
                                head_seq=record["head_seq"])
        sealed = {str(fid): str(sha) for fid, sha in sums}
        present = {fid for fid, _ in found}
        for fid, sha in found:
            if fid not in sealed:
                status.problems.append(f"finding {_shown(fid)} was added after the findings were derived")
            elif sealed[fid] != sha:
                status.problems.append(f"finding {_shown(fid)} was changed after it was derived (forged)")
        for fid in sealed:
            if fid not in present:
                status.problems.append(f"finding {_shown(fid)} was deleted after the findings were derived")
        if len(found) != len(present):
            status.problems.append("a finding is stored twice")
        if status.problems:
            status.state = "tampered"
            del status.problems[PROBLEMS_KEPT:]
            return status
        if hashes.get(record["head_seq"], GENESIS if record["head_seq"] == 0 else None) != record.get("head"):
            status.state = "tampered"
            status.problems.append(f"the findings record names step {record['head_seq']} with a hash the chain "
                                   "does not have")
        elif (record["head_seq"], record.get("head")) != (last_seq, last_hash):
            status.state = "stale"
            status.problems.append(f"the findings were derived at step {record['head_seq']} but the run goes on to "
                                   f"step {last_seq}; `naysayer analyze RUN` re-derives them")
        return status


def list_runs(root: Path) -> list[Path]:
    """Run directories directly under `root`, oldest first (run ids start with their creation time)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and RUN_ID.match(p.name) and (p / DB_NAME).is_file())


def open_blob(path: Path) -> BinaryIO | str | None:
    """A blob file opened for reading, None if there is none, or why it cannot be a blob: a FIFO (which would block
    a reader forever), a device, a directory or a socket is not a regular file. Symbolic links are followed (the
    content is then checked against the name like any other)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return "is not a regular file"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return "is not a regular file"
    return os.fdopen(fd, "rb")


def findings_hash(record: dict[str, Any]) -> str:
    """The hash of a findings record (see the module docstring); "" if the record is malformed."""
    sums = record.get("findings")
    if not isinstance(sums, list) or not all(isinstance(s, list) and len(s) == 2 for s in sums):
        return ""
    material = (f"{FINDINGS_TAG}\n{record.get('head')}\n{record.get('head_seq')}\n{record.get('detectors')}\n"
                + "".join(f"{fid} {sha}\n" for fid, sha in sums))
    return hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _shown(text: str, limit: int = 80) -> str:
    """An id from a (possibly hostile) row, safe to print on one line."""
    text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for ch in text[:limit])
    return repr(text)


def _step(seq: Any, t: Any, kind: Any, text: Any) -> Step | str:
    """A row as a Step, or why it is not one."""
    if not isinstance(seq, int) or not isinstance(t, int | float) or not isinstance(kind, str) \
            or not isinstance(text, str):
        return "its columns have the wrong types"
    try:
        text.encode("utf-8")  # stored text is always UTF-8: bytes read with surrogateescape are damage
    except UnicodeEncodeError:
        return "its data is not UTF-8 (damaged)"
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return "its data is not JSON (damaged)"
    if not isinstance(data, dict):
        return "its data is not a JSON object (damaged)"
    return Step(seq, float(t), kind, data)
