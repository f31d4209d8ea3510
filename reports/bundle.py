"""Evidence bundle export: one zip that carries a run's findings and the evidence behind them, with a manifest of
sha256 sums pinned to the trace's hash chain, optionally signed with Ed25519.

Members (names fixed, all at the top level or one folder down):

    findings.json            the findings (all, or the one asked for)
    trace.jsonl              steps, one canonical JSON object a line: {seq, t, kind, data, prev_hash, hash}
    chain.txt                slices only: "<seq> <hash>" for every step of the run, 1 .. head
    graph.graphml graph.json the run's state-transition graph (crawler.graph)
    run.json                 run metadata: store meta, run_start (device, app, tool, strategy, settings), run_end
    report.html              the HTML report, when reports.html provides it
    screenshots/<sha>.png    screenshots named by the trace (.jpg when the bytes are JPEG)
    hierarchies/<sha>.xml    hierarchy dumps named by the trace
    manifest.json            what is in the bundle: every other member's sha256 and size, the chain head, the run's
                             findings record (crawler/store.py), the signer
    manifest.sig             base64 Ed25519 signature of manifest.json's exact bytes (signed bundles only)

The zip is canonical (reports/bundle_zip.py): members stored, sorted by name (manifest last), every header byte fixed
or following from the member, so the same run exported twice gives the same bytes (Ed25519 signatures are
deterministic too) and the verifier rebuilds every byte that is not a member's content.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.chain import GENESIS, ChainWalker
from crawler.errors import UserError
from crawler.store import BLOB_FIELDS, BLOB_LIMIT, DamagedRun, FindingsStatus, RunStore, canonical, open_blob
from crawler.trace import ChainedStep, StepKind, Trace
from crawler.version import TOOL
from reports import signing
from reports.bundle_zip import CanonicalZip, TooLarge
from reports.run_paths import inside_run

FORMAT = "naysayer-evidence-bundle"
FORMAT_VERSION = 2  # 2: canonical zip, members stored, the findings record in the manifest (1: deflated, unchecked bytes)
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
FINDINGS = "findings.json"
TRACE = "trace.jsonl"
CHAIN = "chain.txt"
GRAPHML = "graph.graphml"
GRAPH_JSON = "graph.json"
RUN_META = "run.json"
REPORT = "report.html"
BLOB_FOLDERS = {"png": "screenshots", "xml": "hierarchies"}  # trace data field -> folder in the bundle


class ExportError(UserError):
    """The run cannot be exported as asked (no findings, unknown finding, broken chain, missing blob, bad -o)."""


@dataclass(frozen=True)
class BlobFile:
    """A blob packed straight from the run (not held in memory); its sha256 is checked while it is written."""

    path: Path
    sha: str
    size: int


Content = bytes | BlobFile


@dataclass
class ChainWalk:
    """Every step of the run with its recomputed link hash: proof the exported lines are the chain's steps."""

    lines: list[ChainedStep] = field(default_factory=list)
    head_seq: int = 0
    head: str = GENESIS


@dataclass
class ExportResult:
    path: Path
    members: int
    size: int  # bytes of the zip
    head_seq: int
    head: str
    steps: int  # steps in trace.jsonl
    findings: list[str]  # ids
    whole_trace: bool
    fingerprint: str = ""  # signer's key fingerprint ("" unsigned)
    report: bool = False  # report.html included

    def to_json(self) -> dict[str, Any]:
        return {"bundle": str(self.path), "members": self.members, "bytes": self.size, "head_seq": self.head_seq,
                "head": self.head, "steps": self.steps, "findings": self.findings, "whole_trace": self.whole_trace,
                "signed": bool(self.fingerprint), "key": self.fingerprint, "report": self.report}


# -- what goes in -------------------------------------------------------------------------------------------------
def trace_line(step: ChainedStep) -> bytes:
    """The step's trace.jsonl line, newline included: the canonical JSON of its fields and its link."""
    return (canonical({"seq": step.seq, "t": step.t, "kind": step.kind, "data": step.data,
                       "prev_hash": step.prev_hash, "hash": step.hash}) + "\n").encode("utf-8")


def walk_chain(store: RunStore) -> ChainWalk:
    """Check every stored link from genesis with the chain walker `verify` uses (crawler.chain) and that the chain
    ends at the head the store recorded. The stored text must be canonical(data) (the store writes canonical JSON),
    so the exported lines hash to the same links: every exported line is the recorded step."""
    walk, walker = ChainWalk(), ChainWalker()
    try:
        for step, text, prev_hash, digest in store.links():
            prev = walker.prev
            if walker.step(step.seq, step.t, step.kind, text, prev_hash, digest):
                raise _broken(store)
            if canonical(step.data) != text:
                raise ExportError(f"{store.path}: step {step.seq} is not stored as canonical JSON (not written by "
                                  "naysayer); not exported")
            walk.lines.append(ChainedStep(step.seq, step.t, step.kind, step.data, prev, digest))
            walk.head_seq, walk.head = step.seq, digest
    except DamagedRun:
        raise _broken(store) from None
    recorded = str(store.meta().get("head", ""))
    if walk.head != store.head or (recorded and recorded != f"{walk.head_seq}:{walk.head}"):
        raise _broken(store)
    return walk


def _broken(store: RunStore) -> ExportError:
    report = store.verify()
    if report.chain_ok:
        return ExportError(f"{store.path}: the run changed while it was read (is a crawl still writing it?); "
                           "export it when the crawl has ended")
    return ExportError(f"{store.path}: hash chain broken at step {report.first_bad_seq}: {report.reason}; "
                       "a tampered run is not exported")


def slice_seqs(walk: ChainWalk, finding: dict[str, Any]) -> set[int]:
    """The steps that show one finding: run_start, the observation on screen before its first step, every step from
    its first to its last (a contiguous stretch, so its links are recomputed in full), its key step, and run_end."""
    cited = sorted({int(s) for s in finding.get("steps", []) if isinstance(s, int) and 0 < s <= walk.head_seq})
    key = finding.get("key_step")
    if isinstance(key, int) and 0 < key <= walk.head_seq:
        cited = sorted({*cited, key})
    keep = {1} if walk.head_seq else set()
    if cited:
        low, high = cited[0], cited[-1]
        before = [line.seq for line in walk.lines[: low - 1] if line.kind == StepKind.OBSERVATION]
        if before:
            low = before[-1]
        keep.update(range(low, high + 1))
    if walk.lines and walk.lines[-1].kind == StepKind.RUN_END:
        keep.add(walk.head_seq)
    return keep


def blob_members(lines: Iterable[ChainedStep], findings: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """sha -> (data field, first seq naming it) for every blob the included steps and findings name."""
    named: dict[str, tuple[str, str]] = {}
    for line in lines:
        for name in BLOB_FIELDS:
            sha = line.data.get(name)
            if isinstance(sha, str) and sha and sha not in named:
                named[sha] = (name, f"step {line.seq}")
    for finding in findings:
        for sha in finding.get("screenshots", []):
            if isinstance(sha, str) and sha and sha not in named:
                named[sha] = ("png", f"finding {finding.get('id')}")
    return named


def blob_member_name(field_name: str, sha: str, data: bytes) -> str:
    suffix = ".xml" if field_name == "xml" else (".jpg" if data[:3] == b"\xff\xd8\xff" else ".png")
    return f"{BLOB_FOLDERS[field_name]}/{sha}{suffix}"


def run_metadata(store: RunStore, walk: ChainWalk) -> dict[str, Any]:
    start = next((line.data for line in walk.lines if line.kind == StepKind.RUN_START), {})
    end = next((line.data for line in reversed(walk.lines) if line.kind == StepKind.RUN_END), None)
    return {"run_id": store.path.name, "meta": store.meta(), "run_start": start, "run_end": end}


def graph_members(walk: ChainWalk) -> dict[str, bytes]:
    from crawler.graph import build_graph, to_graphml, to_json

    graph = build_graph(Trace(list(walk.lines)))
    return {GRAPHML: to_graphml(graph).encode("utf-8"), GRAPH_JSON: to_json(graph).encode("utf-8")}


def report_html(run_dir: Path, lang: str) -> bytes | None:
    """The run's HTML report (reports.html, issue 6.1), or None where that package is not installed."""
    try:
        from reports.html import ReportError, render_run_report
    except ImportError:
        return None
    try:
        graphs = {"json": "graph.json", "graphml": "graph.graphml"}  # members of the bundle, beside report.html
        return render_run_report(run_dir, lang, graph_files=graphs).encode("utf-8")
    except ReportError as exc:
        raise ExportError(f"report.html could not be made: {exc}") from None


def pretty_json(data: Any) -> bytes:
    """Indented, sorted JSON; text that cannot be UTF-8 (lone surrogates from a damaged store) is written escaped."""
    try:
        return (json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1, allow_nan=False) + "\n").encode()
    except UnicodeEncodeError:
        return (json.dumps(data, ensure_ascii=True, sort_keys=True, indent=1, allow_nan=False) + "\n").encode()


# -- the zip ------------------------------------------------------------------------------------------------------
def write_zip(target: Path, members: dict[str, Content]) -> int:
    """Write members sorted, manifest and signature last, atomically (temp file + rename). A blob whose bytes no
    longer match its name (changed since it was listed) aborts the export."""
    ordered = sorted(n for n in members if n not in (MANIFEST, SIGNATURE))
    ordered += [n for n in (MANIFEST, SIGNATURE) if n in members]
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            archive = CanonicalZip(handle)
            for name in ordered:
                content = members[name]
                archive.add(name, content if isinstance(content, bytes) else _read_blob(content))
            archive.finish()
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except TooLarge as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ExportError(f"{target}: the run is too large for one bundle ({exc}); export one finding at a time "
                          "(--finding ID)") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target.stat().st_size


def _choose_findings(store: RunStore, finding_id: str | None,
                     status: FindingsStatus) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The findings to export and the record that seals them; a run whose findings were never derived, are not
    sealed, or disagree with their record (`status`, from verify) is refused."""
    if status.state == "pending":
        raise ExportError(f"{store.path}: the run's findings were never derived (the crawl did not finish); "
                          "`naysayer analyze RUN` derives them")
    if status.state == "unsealed":
        raise ExportError(f"{store.path}: the run's findings are not sealed (recorded by an older naysayer); "
                          "`naysayer analyze RUN` re-derives and seals them")
    if status.problems:
        raise ExportError(f"{store.path}: {status.problems[0]}; a tampered run is not exported")
    findings = store.findings()
    try:
        record = json.loads(str(store.meta().get("findings")))
    except (ValueError, RecursionError):
        record = None
    if not isinstance(record, dict):
        raise ExportError(f"{store.path}: the findings record cannot be read (damaged); not exported")
    if not findings:
        raise ExportError(f"{store.path}: the run has no findings to export "
                          "(`naysayer analyze RUN` derives them; a clean app has none)")
    if finding_id is None:
        return findings, record
    chosen = [f for f in findings if f.get("id") == finding_id]
    if not chosen:
        ids = ", ".join(str(f.get("id"))[:60] for f in findings[:8]) + (", …" if len(findings) > 8 else "")
        raise ExportError(f"{store.path}: no finding {finding_id[:80]!r} (findings: {ids})")
    return chosen, record


def _output_path(output: Path, run_dir: Path) -> Path:
    output = Path(output)
    if inside_run(output, run_dir):
        raise ExportError(f"{output}: is inside the run {run_dir}; a run is evidence and is never written to "
                          "(write the bundle elsewhere)")
    if output.is_dir():
        raise ExportError(f"{output}: is a directory; -o names the bundle file (e.g. evidence.zip)")
    if not output.parent.is_dir():
        raise ExportError(f"{output.parent}: no such directory for the bundle")
    return output


def export_bundle(run_dir: Path, output: Path, *, finding_id: str | None = None, sign_key: Path | None = None,
                  lang: str = "zh-CN") -> ExportResult:
    """Pack a run (or one finding's slice of it) into `output`. Raises ExportError, KeyFileError, NotARun."""
    output = _output_path(output, run_dir)
    key = signing.load_private_key(Path(sign_key)) if sign_key is not None else None  # bad key: fail before work
    with RunStore.open(Path(run_dir)) as store:
        checked = store.verify()  # what `naysayer verify` says: a run it fails on is not exported
        if not checked.chain_ok:
            raise ExportError(f"{store.path}: hash chain broken at step {checked.first_bad_seq}: {checked.reason}; "
                              "a tampered run is not exported")
        walk = walk_chain(store)
        findings, record = _choose_findings(store, finding_id, checked.findings)
        if finding_id is None:
            lines, whole = walk.lines, True
        else:
            keep = slice_seqs(walk, findings[0])
            lines, whole = [line for line in walk.lines if line.seq in keep], False
        members: dict[str, Content] = {
            FINDINGS: pretty_json(findings),
            TRACE: b"".join(trace_line(line) for line in lines),
            RUN_META: pretty_json(run_metadata(store, walk)),
            **graph_members(walk),
        }
        if not whole:
            members[CHAIN] = "".join(f"{line.seq} {line.hash}\n" for line in walk.lines).encode("ascii")
        for sha, (field_name, named_by) in sorted(blob_members(lines, findings).items()):
            blob, head = _blob(store, sha, named_by)
            members[blob_member_name(field_name, sha, head)] = blob
        report = report_html(store.path, lang)
    if report is not None:
        members[REPORT] = report
    manifest = build_manifest(store.path.name, walk, findings, lines, whole, members, key, record)
    manifest_bytes = pretty_json(manifest)
    members[MANIFEST] = manifest_bytes
    if key is not None:
        members[SIGNATURE] = signing.sign(key, manifest_bytes)
    size = write_zip(output, members)
    return ExportResult(output, len(members), size, walk.head_seq, walk.head, len(lines),
                        [str(f.get("id")) for f in findings], whole,
                        signing.fingerprint(key.public_key()) if key else "", report is not None)


def _blob(store: RunStore, sha: str, named_by: str) -> tuple[BlobFile, bytes]:
    """The blob to pack and its first bytes (to tell JPEG from PNG)."""
    try:
        path = store.blob_path(sha)
    except ValueError:
        raise ExportError(f"{store.path}: {named_by} names {sha[:40]!r}, which is not a blob hash") from None
    handle = open_blob(path)
    if handle is None or isinstance(handle, str):
        what = "is missing" if handle is None else handle
        raise ExportError(f"{store.path}: blob {sha[:12]} ({named_by}) {what}; the bundle would be incomplete "
                          "(`naysayer verify RUN` lists what is missing)")
    with handle:
        head = handle.read(8)
        size = os.fstat(handle.fileno()).st_size
    if size > BLOB_LIMIT:
        raise ExportError(f"{store.path}: blob {sha[:12]} ({named_by}) is larger than {BLOB_LIMIT} bytes, so not a "
                          "screenshot or hierarchy; not exported")
    return BlobFile(path, sha, size), head


def _read_blob(blob: BlobFile) -> bytes:
    handle = open_blob(blob.path)
    if handle is None or isinstance(handle, str):
        raise ExportError(f"{blob.path}: blob {blob.sha[:12]} changed while it was exported; not exported")
    with handle:
        data = handle.read(blob.size + 1)
    if len(data) != blob.size or hashlib.sha256(data).hexdigest() != blob.sha:
        raise ExportError(f"{blob.path}: blob {blob.sha[:12]} does not match its hash (damaged); not exported")
    return data


def build_manifest(run_id: str, walk: ChainWalk, findings: list[dict[str, Any]], lines: list[ChainedStep],
                   whole: bool, members: dict[str, Content], key: Any,
                   record: dict[str, Any] | None = None) -> dict[str, Any]:
    start = next((line.data for line in walk.lines if line.kind == StepKind.RUN_START), {})
    app = start.get("app", {}) if isinstance(start.get("app"), dict) else {}
    device = start.get("device", {}) if isinstance(start.get("device"), dict) else {}
    signer = None
    if key is not None:
        public = key.public_key()
        signer = {"algorithm": signing.ALGORITHM, "public_key": signing.public_key_text(public),
                  "public_key_sha256": signing.fingerprint(public), "signature": SIGNATURE}
    return {
        "format": FORMAT, "version": FORMAT_VERSION, "tool": TOOL,
        "run": {"id": run_id, "package": app.get("package", ""), "app_version": app.get("version_name", ""),
                "device": device.get("serial", ""), "model": device.get("model", "")},
        "scope": {"whole_trace": whole, "findings": [str(f.get("id")) for f in findings],
                  "steps": len(lines), "first_seq": lines[0].seq if lines else 0,
                  "last_seq": lines[-1].seq if lines else 0},
        "chain": {"head_seq": walk.head_seq, "head": walk.head, "genesis": GENESIS, "trace": TRACE,
                  "links": None if whole else CHAIN,
                  "hash": "sha256(prev_hash \\n seq \\n t(.6f) \\n kind \\n canonical data), see crawler/store.py"},
        "files": {name: _file_entry(content) for name, content in sorted(members.items())},
        "findings": record,
        "signer": signer,
    }


def _file_entry(content: Content) -> dict[str, Any]:
    if isinstance(content, BlobFile):  # content-addressed: its name is its sha256, checked as it is written
        return {"sha256": content.sha, "size": content.size}
    return {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
