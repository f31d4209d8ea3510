"""Evidence bundle verification: read an untrusted zip safely and say exactly what does not hold.

Nothing is ever extracted to disk. Before a member is read, its entry is checked: no absolute path, drive letter,
backslash, `..`, empty or `.` component, control character or directory entry; a regular file (no symbolic link or
device, from the zip's unix mode bits); not encrypted; stored or deflated only; not a duplicate name; within the size
limits (each member, the total) and below the compression-ratio limit (zip bombs). A refused member is never read.

Then: every member's sha256 and size against the manifest (also: members missing, members not listed); blobs against
their own names (content-addressed); the trace's hash chain recomputed (crawler.chain: a whole trace from genesis to
the manifest's head; a slice link by link against chain.txt, which ends at the head); the findings against the run's
findings record in the manifest; the findings' steps present in the trace; the steps' screenshots and hierarchies
present in the bundle; the Ed25519 signature over manifest.json's bytes (manifest and signature in their one
canonical form). Last, every byte that is not a member's content is rebuilt from the manifest and the members' CRCs
(reports/bundle_zip.py) and compared: a bundle is its canonical zip, byte for byte, or it fails.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from crawler.chain import GENESIS, ChainWalker
from crawler.errors import UserError
from crawler.store import BLOB_FIELDS, canonical, findings_hash
from crawler.trace import ChainedStep
from reports import signing
from reports.bundle import (
    BLOB_FOLDERS,
    CHAIN,
    FINDINGS,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    SIGNATURE,
    TRACE,
    pretty_json,
)
from reports.bundle_zip import Member, expected_problem

SHA = re.compile(r"^[0-9a-f]{64}$")
DRIVE = re.compile(r"^[A-Za-z]:")
BLOB_NAME = re.compile(r"^(screenshots|hierarchies)/([0-9a-f]{64})\.(png|jpg|xml)$")
KEPT_IN_MEMORY = (MANIFEST, SIGNATURE, TRACE, CHAIN, FINDINGS)  # parsed; every other member is only hashed
PROBLEMS_SHOWN = 200  # a bundle with thousands of problems is simply broken
NAME_SHOWN = 120  # characters of a hostile member name shown in a message
READ_CHUNK = 1 << 20
MB = 1 << 20


class BundleError(UserError):
    """The bundle cannot be checked at all (no such file, not a zip): bad input, not a failed verification."""


@dataclass(frozen=True)
class Limits:
    member_bytes: int = 512 * MB  # one member, uncompressed
    total_bytes: int = 4096 * MB  # all members, uncompressed
    members: int = 200_000
    ratio: float = 200.0  # uncompressed / compressed above which a member is taken for a zip bomb ...
    ratio_floor: int = 1 * MB  # ... when it is larger than this (small members may compress very well)
    manifest_bytes: int = 64 * MB


@dataclass
class BundleReport:
    path: Path
    problems: list[str] = field(default_factory=list)
    more_problems: int = 0  # beyond PROBLEMS_SHOWN
    members: int = 0
    size: int = 0  # uncompressed bytes read
    steps: int = 0  # trace steps checked
    head_seq: int = 0
    head: str = ""
    whole_trace: bool = True
    findings: list[str] = field(default_factory=list)
    signature: str = "unsigned"  # verified (with --pub) | matches-own-key (no --pub) | unsigned | bad
    key: str = ""  # fingerprint of the key the signature verified with (or the bundle names)

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, message: str) -> None:
        if len(self.problems) < PROBLEMS_SHOWN:
            self.problems.append(message)
        else:
            self.more_problems += 1

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "bundle": str(self.path), "problems": self.problems,
                "more_problems": self.more_problems, "members": self.members, "bytes": self.size,
                "steps": self.steps, "head_seq": self.head_seq, "head": self.head, "whole_trace": self.whole_trace,
                "findings": self.findings, "signature": self.signature, "key": self.key}


def shown(name: str) -> str:
    """A hostile member name made safe to print: non-printable characters escaped, bounded."""
    text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in name[:NAME_SHOWN])
    return text + ("…" if len(name) > NAME_SHOWN else "")


def short_hash(digest: str) -> str:
    return f"{shown(str(digest))[:12]}…"


# -- the zip's entries --------------------------------------------------------------------------------------------
def name_problem(name: str) -> str:
    """Why a member name is refused, or ''."""
    if not name:
        return "empty name refused"
    if "\\" in name or name.startswith("/") or DRIVE.match(name):
        return "path traversal refused (absolute path, drive letter or backslash)"
    parts = name.split("/")
    if ".." in parts:
        return "path traversal refused"
    if name.endswith("/"):
        return "directory entry refused"
    if any(part in ("", ".") for part in parts):
        return "unusual path refused (empty or '.' component)"
    if not name.isprintable():
        return "control character in the name refused"
    return ""


def entry_problem(info: zipfile.ZipInfo, limits: Limits) -> str:
    problem = name_problem(info.filename)
    if problem:
        return problem
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode:  # unix mode bits are present
        if stat.S_ISLNK(mode):
            return "symbolic link refused"
        if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
            return "special file refused (not a regular file)"
    if info.flag_bits & 0x1:
        return "encrypted member refused"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return f"compression method {info.compress_type} refused (stored or deflated only)"
    if info.file_size > limits.member_bytes:
        return f"member too large ({info.file_size} bytes; limit {limits.member_bytes})"
    if info.file_size > limits.ratio_floor and info.file_size > limits.ratio * max(info.compress_size, 1):
        ratio = info.file_size / max(info.compress_size, 1)
        return f"compression ratio {ratio:.0f}:1 refused (limit {limits.ratio:.0f}:1; zip bomb?)"
    return ""


def safe_entries(archive: zipfile.ZipFile, report: BundleReport, limits: Limits) -> dict[str, zipfile.ZipInfo]:
    """The entries that may be read; every refused one is reported."""
    infos = archive.infolist()
    report.members = len(infos)
    if len(infos) > limits.members:
        report.fail(f"bundle: {len(infos)} members refused (limit {limits.members})")
        return {}
    counts: dict[str, int] = {}
    for info in infos:
        counts[info.filename] = counts.get(info.filename, 0) + 1
    safe: dict[str, zipfile.ZipInfo] = {}
    duplicates: set[str] = set()
    for info in infos:
        name = info.filename
        if counts[name] > 1:  # which copy would a reader take? none: all are refused
            if name not in duplicates:
                report.fail(f"{shown(name)}: duplicate member refused ({counts[name]} entries with this name)")
                duplicates.add(name)
            continue
        problem = entry_problem(info, limits)
        if problem:
            report.fail(f"{shown(name)}: {problem}")
        else:
            safe[name] = info
    total = sum(info.file_size for info in safe.values())
    if total > limits.total_bytes:
        report.fail(f"bundle: {total} bytes uncompressed refused (limit {limits.total_bytes})")
        return {}
    return safe


@dataclass
class ReadMember:
    sha256: str
    size: int
    data: bytes | None  # kept for the members that are parsed
    crc: int = 0  # CRC-32 of the bytes read, for the canonical layout


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, keep: bool, report: BundleReport) -> ReadMember | None:
    """Hash a member in chunks, never past its declared size (zipfile stops there and checks the CRC)."""
    digest, size, kept, crc = hashlib.sha256(), 0, [], 0
    try:
        with archive.open(info) as handle:
            while chunk := handle.read(READ_CHUNK):
                size += len(chunk)
                digest.update(chunk)
                crc = zlib.crc32(chunk, crc)
                if keep:
                    kept.append(chunk)
    except Exception as exc:  # noqa: BLE001 - zipfile's errors on hostile bytes are no closed set; each is damage
        report.fail(f"{shown(info.filename)}: damaged in the zip ({shown(str(exc) or type(exc).__name__)[:100]})")
        return None
    report.size += size
    return ReadMember(digest.hexdigest(), size, b"".join(kept) if keep else None, crc)


# -- the manifest -------------------------------------------------------------------------------------------------
def parse_manifest(data: bytes, report: BundleReport) -> dict[str, Any] | None:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        report.fail(f"{MANIFEST}: not valid JSON")
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        report.fail(f"{MANIFEST}: not a naysayer evidence manifest")
        return None
    version = manifest.get("version")
    if version == 1:
        report.fail(f"{MANIFEST}: bundle format 1 (deflated members) carries bytes no check covers; export the run "
                    f"again with this naysayer (format {FORMAT_VERSION} is canonical)")
        return None
    if not isinstance(version, int) or isinstance(version, bool) or version != FORMAT_VERSION:
        report.fail(f"{MANIFEST}: format version {shown(str(version))} is not one this naysayer reads "
                    f"(up to {FORMAT_VERSION}); upgrade naysayer")
        return None
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("sha256"), str) and isinstance(v.get("size"), int)
            for v in files.values()):
        report.fail(f"{MANIFEST}: its file list is malformed")
        return None
    chain = manifest.get("chain")
    if not isinstance(chain, dict) or not isinstance(chain.get("head_seq"), int) \
            or not isinstance(chain.get("head"), str):
        report.fail(f"{MANIFEST}: its chain head is malformed")
        return None
    if pretty_json(manifest) != data:
        report.fail(f"{MANIFEST}: not in its canonical form (its bytes are not the ones export writes for its "
                    "content)")
    return manifest


def check_files(manifest: dict[str, Any], read: dict[str, ReadMember], refused: set[str],
                report: BundleReport) -> None:
    listed: dict[str, dict[str, Any]] = manifest["files"]
    for name, entry in sorted(listed.items()):
        if name in (MANIFEST, SIGNATURE):
            report.fail(f"{MANIFEST}: lists {name} among the files it covers")
            continue
        member = read.get(name)
        if member is None:
            if name not in refused:
                report.fail(f"{shown(name)}: listed in the manifest but missing from the bundle")
            continue
        if member.sha256 != entry["sha256"]:
            report.fail(f"{shown(name)}: sha256 mismatch (manifest {short_hash(entry['sha256'])}, "
                        f"file {short_hash(member.sha256)})")
        elif member.size != entry["size"]:
            report.fail(f"{shown(name)}: size mismatch (manifest {entry['size']}, file {member.size})")
    for name in sorted(read):
        if name not in listed and name not in (MANIFEST, SIGNATURE):
            report.fail(f"{shown(name)}: in the bundle but not listed in the manifest")
    for name, member in sorted(read.items()):
        match = BLOB_NAME.match(name)
        if match and match.group(2) != member.sha256:
            report.fail(f"{shown(name)}: content does not match its name (file {short_hash(member.sha256)})")


def check_signature(manifest: dict[str, Any], manifest_bytes: bytes, signature: bytes | None, pub: Any,
                    report: BundleReport) -> None:
    """`pub`: the Ed25519 public key the user trusts (--pub), or None."""
    signer = manifest.get("signer")
    if not isinstance(signer, dict):
        if signature is not None:
            report.fail(f"{SIGNATURE}: present, but the manifest names no signer")
        elif pub is not None:
            report.fail("bundle is not signed but --pub was given")
        return
    named = str(signer.get("public_key_sha256", ""))
    report.key = named
    if signature is None:
        report.signature = "bad"
        report.fail(f"{SIGNATURE}: missing, but the manifest says key {signing.short(shown(named))} signed it")
        return
    own = signing.public_key_from_raw(str(signer.get("public_key", "")))
    if own is None or signing.fingerprint(own) != named:
        report.signature = "bad"
        report.fail(f"{MANIFEST}: the signer's public key does not match its fingerprint")
        return
    key = pub if pub is not None else own
    fp = signing.fingerprint(key)
    if not signing.signature_verifies(key, manifest_bytes, signature):
        report.signature = "bad"
        named_note = f" (the bundle names key {signing.short(named)})" if fp != named else ""
        report.fail(f"{MANIFEST}: signature does not verify with key {signing.short(fp)}{named_note}")
        return
    if not signing.signature_is_canonical(signature):
        report.signature = "bad"
        report.fail(f"{SIGNATURE}: not in its canonical form (base64 of 64 bytes and one newline, as export writes "
                    "it)")
        return
    report.signature = "verified" if pub is not None else "matches-own-key"
    report.key = fp


# -- the trace ----------------------------------------------------------------------------------------------------
def parse_trace(data: bytes, report: BundleReport) -> list[ChainedStep] | None:
    steps: list[ChainedStep] = []
    if data and not data.endswith(b"\n"):
        report.fail(f"{TRACE}: does not end with a newline (cut, or not as export writes it)")
        return None
    for number, line in enumerate(data.splitlines(), 1):
        try:
            row = json.loads(line.decode("utf-8"))
            step = ChainedStep(row["seq"], row["t"], row["kind"], row["data"], row["prev_hash"], row["hash"])
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError):
            report.fail(f"{TRACE}: line {number} is not a trace step")
            return None
        if not (isinstance(step.seq, int) and isinstance(step.t, int | float) and not isinstance(step.t, bool)
                and isinstance(step.kind, str) and isinstance(step.data, dict)
                and isinstance(step.prev_hash, str) and isinstance(step.hash, str)):
            report.fail(f"{TRACE}: line {number} is not a trace step (a field has the wrong type)")
            return None
        steps.append(step if _canonical_line(row) == line else replace(step, canonical=False))
    return steps


def _canonical_line(row: dict[str, Any]) -> bytes:
    try:
        return canonical(row).encode("utf-8")
    except (TypeError, ValueError, RecursionError, OverflowError):
        return b""


def _data_text(step: ChainedStep) -> Any:
    """The text a step's link hashes; None (a wrong type: the walker says so) for data JSON cannot write."""
    try:  # hostile data: nesting too deep for json, NaN, a number too large for a float
        return canonical(step.data)
    except (TypeError, ValueError, RecursionError, OverflowError):
        return None


def walk_steps(steps: list[ChainedStep], walker: ChainWalker, report: BundleReport) -> bool:
    for step in steps:
        bad = walker.step(step.seq, step.t, step.kind, _data_text(step), step.prev_hash, step.hash)
        if bad:
            report.fail(f"{TRACE}: hash chain broken at step {bad.seq}: {bad.reason}")
            return False
        if not step.canonical:  # same content, other bytes (spaces, key order, escapes)
            report.fail(f"{TRACE}: step {step.seq} is not in its canonical form (not the bytes export writes for it)")
            return False
    return True


def check_whole_chain(steps: list[ChainedStep], head_seq: int, head: str, report: BundleReport) -> None:
    walker = ChainWalker()
    if walk_steps(steps, walker, report) and walker.end(head_seq, head):
        report.fail(f"{TRACE}: the chain ends at step {walker.last} ({short_hash(walker.prev)}) but the manifest's "
                    f"head is step {head_seq} ({short_hash(head)}): steps removed or added")


def parse_links(data: bytes, head_seq: int, head: str, report: BundleReport) -> list[str] | None:
    """chain.txt: the hash of every step 1..head, in order; index 0 is genesis."""
    links = [GENESIS]
    if data and not data.endswith(b"\n"):
        report.fail(f"{CHAIN}: does not end with a newline (cut, or not as export writes it)")
        return None
    for number, line in enumerate(data.decode("ascii", "replace").split("\n")[:-1] if data else [], 1):
        seq_text, _, digest = line.partition(" ")
        if seq_text != str(number) or not SHA.match(digest):
            report.fail(f"{CHAIN}: line {number} is not '<seq> <sha256>' for step {number}")
            return None
        links.append(digest)
    if len(links) - 1 != head_seq or links[-1] != (head if head_seq else GENESIS):
        report.fail(f"{CHAIN}: the links end at step {len(links) - 1} ({short_hash(links[-1])}), not at the "
                    f"manifest's head, step {head_seq} ({short_hash(head)})")
        return None
    return links


def check_slice_chain(steps: list[ChainedStep], links: list[str], report: BundleReport) -> None:
    walk_steps(steps, ChainWalker(links, CHAIN), report)


def check_evidence_present(steps: list[ChainedStep], read: dict[str, ReadMember], refused: set[str],
                           report: BundleReport) -> None:
    """Every screenshot and hierarchy a step names is in the bundle."""
    shas = {m.group(2) for name in [*read, *refused] if (m := BLOB_NAME.match(name))}
    for step in steps:
        for name in BLOB_FIELDS:
            sha = step.data.get(name)
            if isinstance(sha, str) and sha and sha not in shas:
                what = "screenshot" if BLOB_FOLDERS.get(name) == "screenshots" else "hierarchy"
                report.fail(f"{TRACE}: step {step.seq} names {what} {short_hash(sha)}, which is not in the bundle")


def check_findings(data: bytes, steps: list[ChainedStep] | None, manifest: dict[str, Any],
                   report: BundleReport) -> None:
    try:
        findings = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        report.fail(f"{FINDINGS}: not valid JSON")
        return
    if not isinstance(findings, list) or not all(isinstance(f, dict) for f in findings):
        report.fail(f"{FINDINGS}: not a list of findings")
        return
    report.findings = [shown(str(f.get("id", "")))[:80] for f in findings]
    if pretty_json(findings) != data:
        report.fail(f"{FINDINGS}: not in its canonical form (not the bytes export writes for it)")
    check_findings_record(findings, manifest, report)
    if steps is None:
        return
    present = {s.seq for s in steps}
    for finding in findings:
        cited = [s for s in finding.get("steps", []) if isinstance(s, int)] if isinstance(
            finding.get("steps"), list) else []
        absent = [s for s in cited if s not in present]
        if absent:
            report.fail(f"{FINDINGS}: finding {shown(str(finding.get('id')))[:80]} cites step {absent[0]}, which is "
                        f"not in {TRACE}")


def check_findings_record(findings: list[dict[str, Any]], manifest: dict[str, Any], report: BundleReport) -> None:
    """The run's findings record (crawler/store.py), carried in the manifest: it must hash to itself, be derived from
    the bundle's head, and name every finding in findings.json with its sha256 (and, for a whole trace, no more)."""
    record = manifest.get("findings")
    sums = record.get("findings") if isinstance(record, dict) else None
    if not isinstance(record, dict) or not isinstance(sums, list) or findings_hash(record) != record.get("hash"):
        report.fail(f"{MANIFEST}: the run's findings record is missing or does not match its own hash")
        return
    chain = manifest["chain"]
    if record.get("head_seq") != chain["head_seq"] or record.get("head") != chain["head"]:
        report.fail(f"{MANIFEST}: the findings were derived at step {shown(str(record.get('head_seq')))}, not at the "
                    f"bundle's head (step {chain['head_seq']})")
    sealed = {str(fid): str(sha) for fid, sha in sums}
    given: set[str] = set()
    for finding in findings:
        fid = str(finding.get("id"))
        given.add(fid)
        try:
            digest = hashlib.sha256(canonical(finding).encode("utf-8")).hexdigest()
        except (TypeError, ValueError, RecursionError, OverflowError):
            digest = ""
        if fid not in sealed:
            report.fail(f"{FINDINGS}: finding {shown(fid)[:80]} is not one the run derived (added)")
        elif sealed[fid] != digest:
            report.fail(f"{FINDINGS}: finding {shown(fid)[:80]} is not the one the run derived (changed)")
    if report.whole_trace:
        for fid in sealed:
            if fid not in given:
                report.fail(f"{FINDINGS}: finding {shown(fid)[:80]} was derived but is not in the bundle (deleted)")


def check_layout(archive: zipfile.ZipFile, size: int, manifest: dict[str, Any] | None,
                 read: dict[str, ReadMember], report: BundleReport) -> None:
    """Every byte that is not a member's content, rebuilt from the manifest and the members read (bundle_zip).
    Checked last, and only when nothing else failed: a bundle that already failed fails anyway, and a zip rewritten by
    another tool would add this line to every other problem."""
    if not report.ok:
        return
    if manifest is None:
        report.fail("bundle: no readable manifest, so its bytes cannot be checked")
        return
    names = sorted(manifest["files"]) + [MANIFEST] + ([SIGNATURE] if SIGNATURE in read else [])
    members = []
    for name in names:
        member = read.get(name)
        if member is None:  # missing or refused: already a problem; the layout cannot be rebuilt
            report.fail(f"bundle: {shown(name)} was not read, so the bundle's bytes cannot be checked")
            return
        members.append(Member(name, member.size, member.crc))
    problem = expected_problem(archive.fp, size, members)
    if problem:
        report.fail(f"bundle: {problem}; a bundle is its canonical zip, nothing else is accepted")


# -- all together -------------------------------------------------------------------------------------------------
def verify_bundle(path: Path, pub_key: Path | None = None, limits: Limits | None = None) -> BundleReport:
    """Check a bundle. Raises BundleError (no file, not a zip) or KeyFileError (bad --pub); every other problem is
    a line in the report."""
    limits = limits or Limits()
    path = Path(path)
    pub = signing.load_public_key(pub_key) if pub_key is not None else None
    if not path.is_file():
        raise BundleError(f"{path}: no such bundle file" if not path.exists() else f"{path}: not a file")
    report = BundleReport(path)
    try:
        archive = zipfile.ZipFile(path)
    except Exception:  # noqa: BLE001 - zipfile's errors on hostile bytes (NotImplementedError, struct.error, ...)
        raise BundleError(f"{path}: not an evidence bundle (not a zip file, or damaged beyond reading)") from None
    with archive:
        entries = safe_entries(archive, report, limits)
        refused = {info.filename for info in archive.infolist()} - set(entries)
        read: dict[str, ReadMember] = {}
        for name, info in sorted(entries.items()):
            if name == MANIFEST and info.file_size > limits.manifest_bytes:
                report.fail(f"{MANIFEST}: too large ({info.file_size} bytes; limit {limits.manifest_bytes})")
                continue
            member = read_member(archive, info, name in KEPT_IN_MEMORY, report)
            if member is not None:
                read[name] = member
        manifest = _check_contents(read, refused, pub, report)
        check_layout(archive, path.stat().st_size, manifest, read, report)
    return report


def _check_contents(read: dict[str, ReadMember], refused: set[str], pub: Any,
                    report: BundleReport) -> dict[str, Any] | None:
    manifest_member = read.get(MANIFEST)
    if manifest_member is None or manifest_member.data is None:
        if MANIFEST not in refused:
            report.fail(f"{MANIFEST}: missing; nothing in the bundle can be checked")
        return None
    manifest = parse_manifest(manifest_member.data, report)
    if manifest is None:
        return None
    chain = manifest["chain"]
    report.head_seq, report.head = chain["head_seq"], shown(chain["head"])[:64]
    report.whole_trace = not chain.get("links")
    signature = read.get(SIGNATURE)
    check_signature(manifest, manifest_member.data, signature.data if signature else None, pub, report)
    check_files(manifest, read, refused, report)
    required = (FINDINGS, TRACE) if report.whole_trace else (FINDINGS, TRACE, CHAIN)
    for name in required:  # a member dropped from the bundle and the manifest alike is still missed
        if name not in read and name not in refused and name not in manifest["files"]:
            report.fail(f"{name}: missing from the bundle (and from its manifest)")
    steps = _check_trace(read, refused, manifest, report)
    findings = read.get(FINDINGS)
    if findings is not None and findings.data is not None:
        check_findings(findings.data, steps, manifest, report)
    return manifest


def _check_trace(read: dict[str, ReadMember], refused: set[str], manifest: dict[str, Any],
                 report: BundleReport) -> list[ChainedStep] | None:
    chain = manifest["chain"]
    trace = read.get(TRACE)
    if trace is None or trace.data is None:
        return None  # already reported as missing (the manifest lists it) or refused
    steps = parse_trace(trace.data, report)
    if steps is None:
        return None
    report.steps = len(steps)
    if report.whole_trace:
        check_whole_chain(steps, report.head_seq, chain["head"], report)
    else:
        links_member = read.get(CHAIN)
        if links_member is not None and links_member.data is not None:  # its absence is already reported
            links = parse_links(links_member.data, report.head_seq, chain["head"], report)
            if links is not None:
                check_slice_chain(steps, links, report)
    check_evidence_present(steps, read, refused, report)
    return steps
