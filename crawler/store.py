"""The run store: `runs/<run-id>/trace.sqlite` (the trace, append-only, hash-chained) and `blobs/` (screenshots and
hierarchies, content-addressed by sha256).

Hash chain. Each step row stores `prev_hash` and `hash`, where

    hash = sha256( prev_hash "\\n" seq "\\n" format(t, ".6f") "\\n" kind "\\n" data )

with `data` the canonical JSON text stored in the row (sort_keys, separators (",", ":"), ensure_ascii=False) and
the first step's prev_hash 64 zeros. Changing, removing or reordering any step breaks the chain at that step.

Durability: SQLite in WAL mode, one commit per step, so a crawl killed at any moment leaves a run that opens and
verifies up to its last complete step. One writer (the session) at a time; readers may open the run concurrently.
Opening a run never writes to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from crawler.trace import SCHEMA_VERSION, STEP_KINDS, Step, Trace
from crawler.version import TOOL

DB_NAME = "trace.sqlite"
BLOBS = "blobs"
GENESIS = "0" * 64
RUN_ID = re.compile(r"^[A-Za-z0-9._-]{1,160}$")
SHA = re.compile(r"^[0-9a-f]{64}$")
BLOB_FIELDS = ("xml", "png")  # step data fields that name blobs

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS steps (
    seq INTEGER PRIMARY KEY, t REAL NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (id TEXT PRIMARY KEY, kind TEXT NOT NULL, data TEXT NOT NULL, created REAL);
"""


class NotARun(Exception):
    pass


class NewerSchema(Exception):
    pass


class BrokenChain(Exception):
    def __init__(self, path: Path, seq: int, reason: str):
        super().__init__(f"{path}: hash chain broken at step {seq}: {reason}")
        self.seq, self.reason = seq, reason


@dataclass
class ChainReport:
    ok: bool
    steps: int = 0
    first_bad_seq: int | None = None
    reason: str = ""
    blob_problems: list[str] = field(default_factory=list)


def canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def step_hash(prev_hash: str, seq: int, t: float, kind: str, data_text: str) -> str:
    material = f"{prev_hash}\n{seq}\n{format(t, '.6f')}\n{kind}\n{data_text}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class RunStore:
    def __init__(self, path: Path, conn: sqlite3.Connection, writable: bool):
        self.path = path
        self._conn = conn
        self._writable = writable
        last = conn.execute("SELECT seq, hash FROM steps ORDER BY seq DESC LIMIT 1").fetchone()
        self._last_seq, self._last_hash = (last[0], last[1]) if last else (0, GENESIS)

    # -- opening ----------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path, run_id: str) -> RunStore:
        if not RUN_ID.match(run_id):
            raise ValueError(f"{run_id!r}: run ids use letters, digits, '.', '_' and '-' only")
        path = Path(root) / run_id
        path.mkdir(parents=True, exist_ok=False)
        (path / BLOBS).mkdir()
        conn = sqlite3.connect(path / DB_NAME, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(SCHEMA)
        with conn:
            conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("schema_version", str(SCHEMA_VERSION)), ("tool", canonical(TOOL)), ("created", str(time.time()))])
        return cls(path, conn, writable=True)

    @classmethod
    def open(cls, path: Path) -> RunStore:
        path = Path(path)
        db = path / DB_NAME
        if not db.is_file():
            raise NotARun(f"{path}: not a naysayer run (no {DB_NAME})")
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise NotARun(f"{path}: not a naysayer run ({exc})") from exc
        if row is None or not str(row[0]).isdigit():
            raise NotARun(f"{path}: not a naysayer run (no schema version)")
        if int(row[0]) > SCHEMA_VERSION:
            raise NewerSchema(f"{path}: run schema {row[0]} is newer than this naysayer ({SCHEMA_VERSION}); upgrade naysayer")
        return cls(path, conn, writable=False)

    def _writer(self) -> sqlite3.Connection:
        if not self._writable:  # findings are derived data: analyze may rewrite them in an opened run
            self._conn.close()
            self._conn = sqlite3.connect(self.path / DB_NAME, check_same_thread=False, isolation_level=None)
            self._writable = True
        return self._conn

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the trace --------------------------------------------------------------------------------------------
    def append(self, kind: str, t: float, data: dict[str, Any]) -> Step:
        if kind not in STEP_KINDS:
            raise ValueError(f"{kind!r}: not a step kind ({', '.join(STEP_KINDS)})")
        text = canonical(data)
        seq = self._last_seq + 1
        digest = step_hash(self._last_hash, seq, float(t), kind, text)
        with self._writer():
            self._conn.execute("INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?)",
                               (seq, float(t), kind, text, self._last_hash, digest))
        self._last_seq, self._last_hash = seq, digest
        return Step(seq, float(t), kind, data)

    def steps(self, kinds: tuple[str, ...] | None = None) -> Iterator[Step]:
        for seq, t, kind, text in self._conn.execute("SELECT seq, t, kind, data FROM steps ORDER BY seq"):
            if kinds is None or kind in kinds:
                yield Step(seq, t, kind, json.loads(text))

    def trace(self) -> Trace:
        return Trace(list(self.steps()))

    def verify(self) -> ChainReport:
        prev, expected_seq, count = GENESIS, 1, 0
        problems: list[str] = []
        rows = self._conn.execute("SELECT seq, t, kind, data, prev_hash, hash FROM steps ORDER BY seq")
        for seq, t, kind, text, prev_hash, digest in rows:
            count += 1
            if seq != expected_seq:
                return ChainReport(False, count, expected_seq, f"step {expected_seq} is missing")
            if prev_hash != prev:
                return ChainReport(False, count, seq, "its previous-hash does not match the step before it")
            if step_hash(prev, seq, t, kind, text) != digest:
                return ChainReport(False, count, seq, "its content does not match its hash")
            try:
                data = json.loads(text)
            except ValueError:
                return ChainReport(False, count, seq, "its data is not JSON")
            for name in BLOB_FIELDS:
                sha = data.get(name) if isinstance(data, dict) else None
                if sha and len(problems) < 100:
                    problem = self._check_blob(sha)
                    if problem:
                        problems.append(f"step {seq} {name}: {problem}")
            prev, expected_seq = digest, seq + 1
        return ChainReport(not problems, count, None, "; ".join(problems[:3]), problems)

    def require_intact(self) -> None:
        report = self.verify()
        if not report.ok:
            raise BrokenChain(self.path, report.first_bad_seq or 0, report.reason)

    # -- blobs ------------------------------------------------------------------------------------------------
    def blob_path(self, sha: str) -> Path:
        if not SHA.match(sha or ""):
            raise ValueError(f"{sha!r}: not a sha256")
        return self.path / BLOBS / sha[:2] / sha

    def put_blob(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        target = self.blob_path(sha)
        if not target.exists():
            target.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        return sha

    def blob(self, sha: str) -> bytes:
        return self.blob_path(sha).read_bytes()

    def _check_blob(self, sha: str) -> str:
        try:
            path = self.blob_path(sha)
        except ValueError as exc:
            return str(exc)
        if not path.is_file():
            return f"blob {sha[:12]} is missing"
        if hashlib.sha256(path.read_bytes()).hexdigest() != sha:
            return f"blob {sha[:12]} does not match its hash"
        return ""

    # -- findings (derived, rewritable) -----------------------------------------------------------------------
    def write_findings(self, findings: list[dict[str, Any]]) -> None:
        conn = self._writer()
        now = time.time()
        with conn:
            conn.execute("DELETE FROM findings")
            conn.executemany("INSERT INTO findings VALUES (?, ?, ?, ?)",
                             [(f["id"], f["kind"], canonical(f), now) for f in findings])

    def findings(self) -> list[dict[str, Any]]:
        rows = self._conn.execute("SELECT data FROM findings ORDER BY rowid").fetchall()
        return [json.loads(text) for (text,) in rows]


def list_runs(root: Path) -> list[Path]:
    root = Path(root)
    return sorted(p for p in root.iterdir() if (p / DB_NAME).is_file()) if root.is_dir() else []
