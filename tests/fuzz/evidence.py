"""Hostile run folders and evidence bundles, for the fuzz harness (tests/fuzz/harness.py).

Run folders: one small recorded run (31 steps, screenshots and hierarchies, findings derived and sealed) damaged one
way per case: rows edited through SQL (steps, findings, the findings record, the head, the schema), invalid UTF-8,
wrong column types, steps removed or swapped, the database truncated, bit-flipped, replaced or made a directory,
junk `-wal`/`-shm` files, blobs missing, flipped, replaced by a directory, a FIFO, a symbolic link (to another file,
to /dev/zero) or a 1 GiB sparse file, extra files. Each goes through verify, analyze, graph, findings, export and the
report. Bundles: one small signed bundle with every byte flipped (0x01 and 0xff; the fast part a sample) and zip
tricks (prepended zip, comments, extra fields, data descriptors, overlapping members, zip64 records, duplicate names,
huge declared sizes, deflated or encrypted members, unknown methods and versions, symbolic links, traversal names,
a re-signed manifest with an extra field, cuts), verified; and a bundle handed to the commands that take runs.

Expectations: a case that changes the evidence (a step, a finding, the findings record, the head, a blob; for a bit
flip in the database, whatever changes what SQLite reads from it, computed here) must not be accepted by verify,
export or the report (the report must name the damage: a banner); every command must end in a fine outcome (no
crash, hang or multi-line error). Changes to what no check covers (junk files beside the run, the `created` and
`tool` meta values, SQLite pages nobody reads) may end any fine way.

    python -m tests.fuzz.harness tests.fuzz.evidence:fast_cases --workers 2     # make test runs this (< 60 s)
    python -m tests.fuzz.harness tests.fuzz.evidence:full_cases --workers 2     # make bench: every byte flipped
"""

from __future__ import annotations

import atexit
import functools
import io
import json
import random
import shutil
import sqlite3
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.fuzz.harness import FIFO, Case

RUN = "run"
DB = f"{RUN}/trace.sqlite"
NOT_ACCEPTED = frozenset({"refused", "clean_error"})
ACCEPTED = frozenset({"accepted"})
RUN_TIMEOUT = 30.0
FULL_DB_FLIP_STEP = 11  # the full sweep flips every 11th byte of the database ...
FLIP_COMMANDS = ("verify", "export", "report")  # ... through the commands that must catch it
BUNDLE_TIMEOUT = 15.0
ME = "tests.fuzz.evidence:"
# what the report shows when something is wrong with a run (reports/templates/run.html.j2)
BANNERS = ('id="integrity"', 'id="damage"', 'id="findings-integrity"', 'id="findings-not-derived"',
           'id="findings-unsealed"', "Screenshots or hierarchy dumps missing or damaged")


# -- the originals ---------------------------------------------------------------------------------------------------
@functools.cache
def _workspace() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="naysayer-fuzz-evidence-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


@functools.cache
def base_run() -> dict[str, bytes]:
    """The run's files, {path in the case folder: bytes}."""
    from tests.unit.evidence_runs import refusal_run

    run = refusal_run(_workspace() / "runs", "base")
    return {f"{RUN}/{p.relative_to(run)}": p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


@functools.cache
def base_bundle() -> tuple[bytes, bytes, bytes]:
    """(the signed bundle of a tiny run, the public key, the private key)."""
    from reports import signing
    from reports.bundle import export_bundle
    from tests.unit.evidence_runs import tiny_run

    root = _workspace() / "bundle"
    root.mkdir()
    run = tiny_run(root)
    key = signing.generate_keypair(root / "lab.key")
    export_bundle(run, root / "b.zip", sign_key=key.private_path)
    return (root / "b.zip").read_bytes(), key.public_path.read_bytes(), key.private_path.read_bytes()


def _logical(db: bytes) -> object:
    """What SQLite reads from a database: every row that carries evidence (steps; findings' ids and data; the head
    and the findings record, looked up by key as naysayer does), or the error reading it. Bytes SQLite does not read
    back as these rows (free pages, header fields such as the freelist count, the `created` and `tool` meta values,
    which no check covers, a meta row under a key nobody reads) change no evidence."""
    folder = Path(tempfile.mkdtemp(dir=_workspace()))
    try:
        (folder / "t.sqlite").write_bytes(db)
        conn = sqlite3.connect(f"file:{folder / 't.sqlite'}?mode=ro&immutable=1", uri=True)
        conn.text_factory = bytes
        try:
            return (conn.execute("SELECT * FROM steps ORDER BY seq").fetchall(),
                    conn.execute("SELECT id, data FROM findings ORDER BY rowid").fetchall(),
                    conn.execute("SELECT value FROM meta WHERE key = 'head'").fetchall(),
                    conn.execute("SELECT value FROM meta WHERE key = 'findings'").fetchall())
        finally:
            conn.close()
    except (sqlite3.Error, UnicodeDecodeError) as exc:  # a flipped schema text fails to decode as a column name
        return f"unreadable: {exc}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _sql(files: dict[str, bytes], *statements: str) -> dict[str, bytes]:
    """The run's files with SQL applied to its database (on a copy)."""
    folder = Path(tempfile.mkdtemp(dir=_workspace()))
    try:
        db = folder / "t.sqlite"
        db.write_bytes(files[DB])
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("PRAGMA journal_mode=DELETE")  # everything in the one file
        for statement in statements:
            conn.execute(statement)
        conn.close()
        return {**files, DB: db.read_bytes()}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- setups (run in the worker, in the case folder) ------------------------------------------------------------------
def link(folder: Path, rel: str, target: str) -> None:
    """Replace `rel` (in the case folder) with a symbolic link to `target` ("{dir}" = the case folder)."""
    path = folder / rel
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target.replace("{dir}", str(folder)))


def sparse(folder: Path, rel: str, size: int) -> None:
    with open(folder / rel, "r+b") as handle:
        handle.truncate(size)


def directory(folder: Path, rel: str) -> None:
    path = folder / rel
    path.unlink()
    path.mkdir()
    (path / "x").write_bytes(b"x")


def report_names_damage(folder: Path) -> str:
    """The report of the case's run, rendered in memory: "refused" when it names something wrong (a banner), else
    "accepted". A user error (not a run at all) propagates: the harness counts it as a clean error."""
    from reports.html import render_run_report

    html = render_run_report(folder / RUN, "en")
    return "refused" if any(banner in html for banner in BANNERS) else "accepted"


# -- run folders -----------------------------------------------------------------------------------------------------
RunMutation = tuple[str, dict[str, object], frozenset[str] | None, tuple]  # name, files, verify expects, setup


def _blob_names(files: dict[str, bytes]) -> list[str]:
    return sorted(name for name in files if "/blobs/" in name)


def run_mutations(full: bool) -> Iterator[RunMutation]:
    base = base_run()
    rnd = random.Random(20261202)
    blobs = _blob_names(base)
    png = next(b for b in blobs if base[b].startswith(b"\x89PNG"))
    xml = next(b for b in blobs if base[b].startswith(b"<hierarchy"))

    def changed(name: str, *statements: str) -> RunMutation:
        return name, _sql(base, *statements), NOT_ACCEPTED, ()

    yield "intact", dict(base), ACCEPTED, ()
    # steps
    for seq in (1, 3, 17, 31):
        yield changed(f"step-{seq}-invalid-utf8", f"UPDATE steps SET data = CAST(X'7B2261223A22FF227D' AS TEXT) "
                                                  f"WHERE seq = {seq}")
    yield changed("step-5-not-json", "UPDATE steps SET data = substr(data, 1, 10) WHERE seq = 5")
    yield changed("step-5-text-edited", "UPDATE steps SET data = replace(data, 'camera', 'microphone') WHERE seq = 5")
    yield changed("step-4-json-array", "UPDATE steps SET data = '[1,2,3]' WHERE seq = 4")
    yield changed("step-6-time-moved", "UPDATE steps SET t = t + 0.000001 WHERE seq = 6")
    yield changed("step-6-time-text", "UPDATE steps SET t = 'soon' WHERE seq = 6")
    yield changed("step-6-time-blob", "UPDATE steps SET t = X'00FF' WHERE seq = 6")
    yield changed("step-7-kind-edited", "UPDATE steps SET kind = 'event' WHERE seq = 7")
    yield changed("step-7-kind-integer", "UPDATE steps SET kind = 5 WHERE seq = 7")
    yield changed("step-8-data-blob", "UPDATE steps SET data = X'00' WHERE seq = 8")
    yield changed("step-9-data-huge-nesting", "UPDATE steps SET data = '{\"a\":' || replace(hex(zeroblob(50000)), "
                                              "'00', '[') || '}' WHERE seq = 9")
    yield changed("step-10-hash-garbage", "UPDATE steps SET hash = 'nope' WHERE seq = 10")
    yield changed("step-11-prev-hash-null-like", "UPDATE steps SET prev_hash = '' WHERE seq = 11")
    yield changed("step-12-deleted", "DELETE FROM steps WHERE seq = 12")
    yield changed("last-step-deleted", "DELETE FROM steps WHERE seq = 31")
    yield changed("last-steps-and-head-deleted", "DELETE FROM steps WHERE seq > 20",
                  "DELETE FROM meta WHERE key = 'head'")
    yield changed("all-steps-deleted", "DELETE FROM steps")
    yield changed("steps-renumbered", "UPDATE steps SET seq = seq + 100")
    yield changed("steps-swapped", "UPDATE steps SET data = (SELECT data FROM steps WHERE seq = 14) WHERE seq = 13")
    yield changed("step-appended", "INSERT INTO steps SELECT 32, t + 1, kind, data, hash, hash FROM steps "
                                   "WHERE seq = 31")
    yield changed("steps-table-dropped", "DROP TABLE steps")
    # meta
    yield changed("head-garbage", "UPDATE meta SET value = 'x:y' WHERE key = 'head'")
    yield changed("head-huge", "UPDATE meta SET value = '99999999999999999999999:00' WHERE key = 'head'")
    yield changed("head-invalid-utf8", "UPDATE meta SET value = CAST(X'FF' AS TEXT) WHERE key = 'head'")
    yield changed("schema-newer", "UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    yield changed("schema-garbage", "UPDATE meta SET value = 'one' WHERE key = 'schema_version'")
    yield changed("meta-dropped", "DROP TABLE meta")
    # findings and their record
    yield changed("finding-forged", "UPDATE findings SET data = replace(data, 'camera', 'microphone') "
                                    "WHERE rowid = 1")
    yield changed("finding-deleted", "DELETE FROM findings WHERE rowid = 2")
    yield changed("findings-all-deleted", "DELETE FROM findings")
    yield changed("finding-added", "INSERT INTO findings VALUES ('x-1', 'x', '{\"id\":\"x-1\",\"kind\":\"x\"}', 0)")
    yield changed("finding-added-malformed", "INSERT INTO findings VALUES ('x-1', 'x', '{\"id\":\"x-1\"}', 0)")
    yield changed("finding-invalid-utf8", "UPDATE findings SET data = CAST(X'7B22FF' AS TEXT) WHERE rowid = 1")
    yield changed("finding-not-json", "UPDATE findings SET data = 'null' WHERE rowid = 1")
    yield changed("finding-id-renamed", "UPDATE findings SET id = 'other' WHERE rowid = 1")
    yield changed("findings-table-dropped", "DROP TABLE findings")
    yield changed("record-removed", "DELETE FROM meta WHERE key = 'findings'")
    yield changed("record-removed-finding-forged", "DELETE FROM meta WHERE key = 'findings'",
                  "UPDATE findings SET data = replace(data, 'camera', 'microphone') WHERE rowid = 1")
    yield changed("record-garbage", "UPDATE meta SET value = '{' WHERE key = 'findings'")
    yield changed("record-pending", "UPDATE meta SET value = 'pending' WHERE key = 'findings'")
    yield changed("record-edited", "UPDATE meta SET value = replace(value, '\"head_seq\":31', '\"head_seq\":30') "
                                   "WHERE key = 'findings'")
    yield changed("record-invalid-utf8", "UPDATE meta SET value = CAST(X'7B22FF' AS TEXT) WHERE key = 'findings'")
    # the database file
    db = base[DB]
    for fraction in (0.0, 0.1, 0.5, 0.9, 0.99) if not full else [i / 40 for i in range(40)]:
        cut = int(len(db) * fraction)
        yield f"db-truncated-{cut}", {**base, DB: db[:cut]}, NOT_ACCEPTED, ()
    flips = rnd.sample(range(len(db)), 24) if not full else range(0, len(db), FULL_DB_FLIP_STEP)
    original = _logical(db)
    for position in flips:
        data = bytearray(db)
        data[position] ^= 0xFF
        expect = NOT_ACCEPTED if _logical(bytes(data)) != original else None
        yield f"db-flip-{position}", {**base, DB: bytes(data)}, expect, ()
    yield "db-random", {**base, DB: rnd.randbytes(8192)}, NOT_ACCEPTED, ()
    yield "db-zip", {**base, DB: base_bundle()[0]}, NOT_ACCEPTED, ()
    yield "db-empty", {**base, DB: b""}, NOT_ACCEPTED, ()
    yield "db-fifo", {**base, DB: FIFO}, NOT_ACCEPTED, ()
    yield "db-directory", dict(base), NOT_ACCEPTED, ("directory", (DB,))
    yield "db-symlink-dev-zero", dict(base), NOT_ACCEPTED, ("link", (DB, "/dev/zero"))
    yield "db-symlink-loop", dict(base), NOT_ACCEPTED, ("link", (DB, "{dir}/run/trace.sqlite"))
    yield "db-missing", {k: v for k, v in base.items() if k != DB}, NOT_ACCEPTED, ()
    yield "wal-junk", {**base, f"{DB}-wal": rnd.randbytes(4096)}, None, ()
    yield "shm-junk", {**base, f"{DB}-shm": rnd.randbytes(32768)}, None, ()
    yield "wal-fifo", {**base, f"{DB}-wal": FIFO}, None, ()
    # blobs
    yield "blob-missing", {k: v for k, v in base.items() if k != png}, NOT_ACCEPTED, ()
    yield "blobs-all-missing", {k: v for k, v in base.items() if "/blobs/" not in k}, NOT_ACCEPTED, ()
    yield "blob-flipped", {**base, png: bytes([base[png][0] ^ 1]) + base[png][1:]}, NOT_ACCEPTED, ()
    yield "blob-xml-truncated", {**base, xml: base[xml][:5]}, NOT_ACCEPTED, ()
    yield "blob-fifo", {**base, png: FIFO}, NOT_ACCEPTED, ()
    yield "blob-directory", dict(base), NOT_ACCEPTED, ("directory", (png,))
    yield "blob-symlink-passwd", dict(base), NOT_ACCEPTED, ("link", (png, "/etc/passwd"))
    yield "blob-symlink-dev-zero", dict(base), NOT_ACCEPTED, ("link", (png, "/dev/zero"))
    yield "blob-sparse-1gib", dict(base), NOT_ACCEPTED, ("sparse", (png, 1 << 30))
    yield "blobs-dir-symlink-loop", dict(base), NOT_ACCEPTED, ("link", (f"{RUN}/blobs", "{dir}/run/blobs"))
    # what no check covers
    yield "extra-files", {**base, f"{RUN}/notes.txt": b"hello", f"{RUN}/blobs/zz/junk": b"x",
                          f"{RUN}/blobs/README": b"y"}, ACCEPTED, ()
    yield "tool-and-created-edited", _sql(base, "UPDATE meta SET value = '{}' WHERE key = 'tool'",
                                          "UPDATE meta SET value = 'yesterday' WHERE key = 'created'"), None, ()


def _run_commands(name: str, files: dict[str, object], expect: frozenset[str] | None, setup: tuple,
                  only: tuple[str, ...] = ()) -> Iterator[Case]:
    how = {"setup": ME + setup[0], "setup_args": setup[1]} if setup else {}
    tampered = expect == NOT_ACCEPTED
    for command, argv in (("verify", ["verify", RUN]), ("analyze", ["analyze", RUN]), ("graph", ["graph", RUN]),
                          ("findings", ["findings", RUN]), ("export", ["export", RUN, "-o", "x.zip"])):
        if only and command not in only:
            continue
        wanted = expect if command in ("verify", "export") else None
        if command == "export" and expect == ACCEPTED:
            wanted = None  # a run with findings exports; the control's export is covered by the bundle tests
        yield Case(f"run/{name}/{command}", argv=argv, files=files, timeout=RUN_TIMEOUT, expect=wanted, **how)
    yield Case(f"run/{name}/report", call=ME + "report_names_damage", pass_dir=True, files=files,
               timeout=RUN_TIMEOUT, expect=NOT_ACCEPTED if tampered else (ACCEPTED if expect == ACCEPTED else None),
               **how)


def run_cases(full: bool = False) -> Iterator[Case]:
    for mutation in run_mutations(full):
        yield from _run_commands(*mutation, only=FLIP_COMMANDS if full and mutation[0].startswith("db-flip-") else ())


# -- bundles ---------------------------------------------------------------------------------------------------------
LOCAL = struct.Struct("<IHHHHHIIIHH")
CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
END = struct.Struct("<IHHHHIIH")


def _parts(bundle: bytes) -> tuple[list[tuple[int, bytes, bytes]], list[bytes], bytes]:
    """(local records [(offset, header with name, content)], central entries, end record) of a canonical bundle."""
    end = bundle[-END.size:]
    _, _, _, _, count, _cd_size, cd_offset, _ = END.unpack(end)
    entries, position = [], cd_offset
    for _ in range(count):
        fixed = CENTRAL.unpack(bundle[position:position + CENTRAL.size])
        length = CENTRAL.size + fixed[10]
        entries.append(bundle[position:position + length])
        position += length
    records = []
    for entry in entries:
        fixed = CENTRAL.unpack(entry[:CENTRAL.size])
        offset, size, name_length = fixed[16], fixed[9], fixed[10]
        header = bundle[offset:offset + LOCAL.size + name_length]
        records.append((offset, header, bundle[offset + len(header):offset + len(header) + size]))
    return records, entries, end


def _assemble(records: list[tuple[bytes, bytes]], entries: list[bytes], comment: bytes = b"") -> bytes:
    """A zip from (local header, content) pairs and central entries, offsets recomputed in order."""
    out, offsets = io.BytesIO(), []
    for header, content in records:
        offsets.append(out.tell())
        out.write(header + content)
    directory_offset = out.tell()
    for entry, offset in zip(entries, offsets, strict=True):
        out.write(entry[:42] + struct.pack("<I", offset) + entry[46:])
    directory_size = out.tell() - directory_offset
    out.write(END.pack(0x06054B50, 0, 0, len(entries), len(entries), directory_size, directory_offset, len(comment))
              + comment)
    return out.getvalue()


def _set(data: bytes, at: int, fmt: str, value: int) -> bytes:
    return data[:at] + struct.pack(fmt, value) + data[at + struct.calcsize(fmt):]


def _copy(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A fresh ZipInfo with the same name, time, mode and method (zipfile fills in the rest as it writes)."""
    new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    new.create_system, new.external_attr, new.compress_type = info.create_system, info.external_attr, \
        info.compress_type
    return new


def zip_tricks() -> Iterator[tuple[str, bytes]]:
    bundle, _, private = base_bundle()
    records, entries, end = _parts(bundle)
    pairs = [(header, content) for _, header, content in records]
    yield "canonical-reassembled", _assemble(pairs, entries)  # the control: must verify (checked below)
    decoy = io.BytesIO()
    with zipfile.ZipFile(decoy, "w") as z:
        z.writestr("findings.json", b"[]\n")
    yield "prepended-zip", decoy.getvalue()[:decoy.getvalue().find(b"PK\x01\x02")] + bundle
    yield "prepended-junk", b"\x00" * 100 + bundle
    yield "archive-comment", _assemble(pairs, entries, b"not covered by the signature")
    yield "trailing-bytes", bundle + b"PK\x05\x06"
    yield "member-comment", _assemble(pairs, [_set(entries[0], 32, "<H", 5) + b"hello"] + entries[1:])
    extra = b"\xfe\xca\x04\x00abcd"
    local_extra = [(_set(pairs[0][0], 28, "<H", len(extra)) + extra, pairs[0][1])] + pairs[1:]
    yield "local-extra-field", _assemble(local_extra, entries)
    central_extra = [_set(entries[0], 30, "<H", len(extra)) + extra] + entries[1:]
    yield "central-extra-field", _assemble(pairs, central_extra)
    yield "both-extra-fields", _assemble(local_extra, central_extra)
    huge_extra = b"\xfe\xca" + struct.pack("<H", 60000) + b"\x00" * 60000
    yield "64k-extra-field", _assemble([(_set(pairs[0][0], 28, "<H", len(huge_extra)) + huge_extra, pairs[0][1])]
                                       + pairs[1:], entries)
    descriptor = struct.pack("<IIII", 0x08074B50, *struct.unpack("<III", pairs[0][0][14:26]))
    yield "data-descriptor", _assemble([(_set(pairs[0][0], 6, "<H", 8), pairs[0][1] + descriptor)] + pairs[1:],
                                       [_set(entries[0], 8, "<H", 8)] + entries[1:])
    yield "overlapping-members", bundle[:-END.size - sum(map(len, entries))] + b"".join(
        [entries[0], _set(entries[1], 42, "<I", 0)] + entries[2:]) + end
    zip64_end = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries),
                            sum(map(len, entries)), records[-1][0] + len(pairs[-1][0]) + len(pairs[-1][1]))
    locator = struct.pack("<IIQI", 0x07064B50, 0, len(bundle) - END.size, 1)
    yield "zip64-records", bundle[:-END.size] + zip64_end + locator + end
    yield "zip64-markers", bundle[:-END.size] + _set(_set(end, 8, "<H", 0xFFFF), 16, "<I", 0xFFFFFFFF)
    yield "huge-declared-size", _assemble(pairs, [_set(entries[0], 24, "<I", 0xFFFFFFF0)] + entries[1:])
    yield "huge-declared-compressed-size", _assemble(pairs, [_set(entries[0], 20, "<I", 0xFFFFFFF0)] + entries[1:])
    yield "entry-count-high", bundle[:-END.size] + _set(_set(end, 8, "<H", 999), 10, "<H", 999)
    yield "entry-count-low", bundle[:-END.size] + _set(_set(end, 8, "<H", 1), 10, "<H", 1)
    yield "duplicate-name", _assemble(pairs + [pairs[0]], entries + [entries[0]])
    yield "version-needed-ff", _assemble(pairs, [_set(entries[0], 6, "<H", 0xFF)] + entries[1:])
    yield "method-99", _assemble([(_set(pairs[0][0], 8, "<H", 99), pairs[0][1])] + pairs[1:],
                                 [_set(entries[0], 10, "<H", 99)] + entries[1:])
    yield "encrypted-flag", _assemble([(_set(pairs[0][0], 6, "<H", 1), pairs[0][1])] + pairs[1:],
                                      [_set(entries[0], 8, "<H", 1)] + entries[1:])
    yield "utf8-name-flag", _assemble([(_set(pairs[0][0], 6, "<H", 0x800), pairs[0][1])] + pairs[1:],
                                      [_set(entries[0], 8, "<H", 0x800)] + entries[1:])
    yield "symlink-member", _assemble(pairs, [_set(entries[0], 38, "<I", 0o120777 << 16)] + entries[1:])
    yield "other-time", _assemble([(_set(pairs[0][0], 10, "<H", 0x6000), pairs[0][1])] + pairs[1:],
                                  [_set(entries[0], 12, "<H", 0x6000)] + entries[1:])
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]

    def repack(change: Callable[[zipfile.ZipInfo, bytes], tuple[zipfile.ZipInfo | str, bytes] | None],
               add: tuple[tuple[str, bytes], ...] = ()) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for info, data in members:
                changed = change(_copy(info), data)
                if changed is not None:
                    z.writestr(*changed)
            for name, data in add:
                z.writestr(name, data)
        return out.getvalue()

    def deflated(info: zipfile.ZipInfo, data: bytes) -> tuple[zipfile.ZipInfo, bytes]:
        info.compress_type = zipfile.ZIP_DEFLATED
        return info, data

    yield "deflated-members", repack(deflated)
    yield "traversal-name", repack(lambda i, d: (i, d) if i.filename != "graph.json" else ("../../graph.json", d))
    yield "member-dropped", repack(lambda i, d: None if i.filename == "graph.json" else (i, d))
    yield "member-added", repack(lambda i, d: (i, d), add=(("notes.txt", b"trust me"),))
    yield "member-content-changed", repack(lambda i, d: (i, d) if i.filename != "run.json" else (i, d + b" "))
    yield "version-1-resigned", _resigned(members, private, lambda m: {**m, "version": 1})
    yield "extra-field-resigned", _resigned(members, private, lambda m: m, extra=b"\xfe\xca\x00\x00")
    yield "manifest-reformatted-resigned", _resigned(members, private, lambda m: m, indent=2)
    for cut in (0, 4, 30, len(bundle) // 2, len(bundle) - 23, len(bundle) - 1):
        yield f"cut-{cut}", bundle[:cut]
    yield "random-bytes", random.Random(7).randbytes(4096)


def _resigned(members: list[tuple[zipfile.ZipInfo, bytes]], private: bytes, edit: Callable[[dict], dict],
              extra: bytes = b"", indent: int = 1) -> bytes:
    """What a key holder could make: the manifest edited and signed again, the zip repacked (with `extra` on every
    member). The checks behind the signature must still refuse it."""
    from cryptography.hazmat.primitives import serialization

    from reports import signing

    key = serialization.load_pem_private_key(private, password=None)
    out = io.BytesIO()
    manifest = edit(json.loads({i.filename: d for i, d in members}["manifest.json"]))
    manifest_bytes = (json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=indent) + "\n").encode()
    with zipfile.ZipFile(out, "w") as z:
        for original, data in members:
            info = _copy(original)
            info.extra = extra
            if info.filename == "manifest.json":
                data = manifest_bytes
            elif info.filename == "manifest.sig":
                data = signing.sign(key, manifest_bytes)
            z.writestr(info, data)
    return out.getvalue()


def bundle_cases(full: bool = False) -> Iterator[Case]:
    bundle, pub, _ = base_bundle()
    verify = ["verify", "b.zip", "--pub", "k.pub"]
    yield Case("bundle/intact", argv=verify, files={"b.zip": bundle, "k.pub": pub}, expect=ACCEPTED,
               timeout=BUNDLE_TIMEOUT)
    for name, data in zip_tricks():
        expect = ACCEPTED if name == "canonical-reassembled" else NOT_ACCEPTED
        yield Case(f"bundle/{name}", argv=verify, files={"b.zip": data, "k.pub": pub}, expect=expect,
                   timeout=BUNDLE_TIMEOUT)
    rnd = random.Random(11)
    positions = range(len(bundle)) if full else sorted(
        set(range(48)) | set(range(len(bundle) - 160, len(bundle))) | set(rnd.sample(range(len(bundle)), 40)))
    for position in positions:
        for mask in (0x01, 0xFF):
            data = bytearray(bundle)
            data[position] ^= mask
            yield Case(f"bundle/flip-{position}-{mask:02x}", argv=verify, files={"b.zip": bytes(data), "k.pub": pub},
                       expect=NOT_ACCEPTED, timeout=BUNDLE_TIMEOUT)
    yield Case("bundle/fifo", argv=verify, files={"b.zip": FIFO, "k.pub": pub}, expect=NOT_ACCEPTED)
    yield Case("bundle/directory", argv=["verify", "b.zip"], files={"b.zip/x": b""}, expect=NOT_ACCEPTED)
    yield Case("bundle/pub-fifo", argv=verify, files={"b.zip": bundle, "k.pub": FIFO}, expect=NOT_ACCEPTED)
    for command in (["analyze", "b.zip"], ["graph", "b.zip"], ["findings", "b.zip"], ["report", "b.zip", "-o", "r.html"],
                    ["export", "b.zip", "-o", "x.zip"]):
        yield Case(f"bundle/given-to-{command[0]}", argv=command, files={"b.zip": bundle},
                   expect=frozenset({"clean_error"}), timeout=BUNDLE_TIMEOUT)


# -- what the harness runs -------------------------------------------------------------------------------------------
def fast_cases() -> Iterator[Case]:
    """`make test`: every run mutation through every command, the zip tricks and a sample of bundle flips."""
    yield from run_cases(full=False)
    yield from bundle_cases(full=False)


def full_cases() -> Iterator[Case]:
    """`make bench`: also every byte of the bundle flipped (0x01 and 0xff), the database cut at 40 points and every
    11th byte of it flipped (through verify, export and the report)."""
    yield from run_cases(full=True)
    yield from bundle_cases(full=True)


def cases() -> Iterator[Case]:
    yield from fast_cases()
