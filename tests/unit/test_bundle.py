"""Evidence bundles on recorded runs: export then verify passes; any change to any member, a removed member, an edited
manifest or an unsafe zip entry fails with a message naming what failed; bad input is one line."""

from __future__ import annotations

import json
import sqlite3
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from crawler.store import RunStore
from reports import signing
from reports.bundle import ExportError, export_bundle
from reports.bundle_verify import BundleError, Limits, verify_bundle
from reports.signing import KeyFileError
from tests.unit.evidence_runs import refusal_run as record


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return record(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> signing.KeyPair:
    return signing.generate_keypair(tmp_path_factory.mktemp("keys") / "lab.key")


@pytest.fixture(scope="module")
def signed(run, key, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bundles") / "evidence.zip"
    export_bundle(run, path, sign_key=key.private_path)
    return path


def rewrite(src: Path, dst: Path, change: Callable[[str, bytes], bytes] = lambda name, data: data,
            drop: tuple[str, ...] = (), add: tuple[tuple[zipfile.ZipInfo | str, bytes], ...] = ()) -> Path:
    """Copy a bundle member by member, changing, dropping or adding some: what an attacker with a zip tool does."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names some tests add on purpose
        for info in zin.infolist():
            if info.filename not in drop:
                zout.writestr(info, change(info.filename, zin.read(info)))
        for info, data in add:
            zout.writestr(info, data)
    return dst


def flip(offset: int) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        i = offset % len(data)
        return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]
    return change


def names(bundle: Path) -> list[str]:
    with zipfile.ZipFile(bundle) as z:
        return z.namelist()


def manifest_of(bundle: Path) -> dict:
    with zipfile.ZipFile(bundle) as z:
        return json.loads(z.read("manifest.json"))


def reencode_manifest(manifest: dict) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()


# -- the good path ------------------------------------------------------------------------------------------------
def test_export_then_verify_passes_with_the_signers_key(run, key, signed):
    report = verify_bundle(signed, key.public_path)
    assert report.ok, report.problems
    assert report.signature == "verified" and report.key == key.fingerprint
    with RunStore.open(run) as store:
        head_seq, head, blobs = store.last_seq, store.head, {p.name for p in (run / "blobs").rglob("*") if p.is_file()}
        findings = {f["id"] for f in store.findings()}
    assert (report.head_seq, report.head, report.steps) == (head_seq, head, head_seq) and report.whole_trace
    members = names(signed)
    assert {"findings.json", "trace.jsonl", "graph.graphml", "graph.json", "run.json", "report.html",
            "manifest.json", "manifest.sig"} <= set(members)
    packed = {Path(n).stem for n in members if n.startswith(("screenshots/", "hierarchies/"))}
    assert packed == blobs  # every screenshot and hierarchy of the run
    assert set(report.findings) == findings
    meta = json.loads(zipfile.ZipFile(signed).read("run.json"))
    assert meta["run_start"]["device"]["serial"] == "sim-1" and meta["run_start"]["app"]["package"]
    assert meta["run_end"]["reason"] == "done"


def test_the_same_run_exports_to_the_same_bytes(run, key, signed, tmp_path):
    again = tmp_path / "again.zip"
    export_bundle(run, again, sign_key=key.private_path)
    assert again.read_bytes() == signed.read_bytes()
    with zipfile.ZipFile(again) as z:
        infos = z.infolist()
    assert [i.filename for i in infos][-2:] == ["manifest.json", "manifest.sig"]
    assert [i.filename for i in infos][:-2] == sorted(i.filename for i in infos[:-2])
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_a_signed_bundle_without_pub_checks_against_its_own_key_and_says_so(signed, key):
    report = verify_bundle(signed)
    assert report.ok and report.signature == "matches-own-key" and report.key == key.fingerprint


def test_a_finding_slice_carries_its_steps_and_proves_them_against_the_head(run, key, tmp_path):
    with RunStore.open(run) as store:
        finding = next(f for f in store.findings() if f["kind"] == "quit_on_refusal" and f["steps"][0] > 20)
        head_seq = store.last_seq
    bundle = tmp_path / "one.zip"
    result = export_bundle(run, bundle, finding_id=finding["id"], sign_key=key.private_path)
    report = verify_bundle(bundle, key.public_path)
    assert report.ok, report.problems
    assert not report.whole_trace and report.findings == [finding["id"]] and report.head_seq == head_seq
    trace = [json.loads(line) for line in zipfile.ZipFile(bundle).read("trace.jsonl").splitlines()]
    seqs = [s["seq"] for s in trace]
    assert set(finding["steps"]) <= set(seqs) and seqs[0] == 1 and seqs[-1] == head_seq
    assert result.steps == len(seqs) < head_seq  # a slice, not the whole trace
    shots = {Path(n).stem for n in names(bundle) if n.startswith("screenshots/")}
    assert set(finding["screenshots"]) <= shots
    assert len(zipfile.ZipFile(bundle).read("chain.txt").splitlines()) == head_seq


# -- tampering ----------------------------------------------------------------------------------------------------
MEMBER_KINDS = ["findings.json", "trace.jsonl", "graph.graphml", "graph.json", "run.json", "report.html",
                "screenshots/", "hierarchies/"]


@pytest.mark.parametrize("kind", MEMBER_KINDS)
@pytest.mark.parametrize("offset", [0, 57, -1])
def test_one_flipped_byte_in_any_member_fails_naming_that_member(signed, key, tmp_path, kind, offset):
    target = next(n for n in names(signed) if n.startswith(kind))
    bad = rewrite(signed, tmp_path / "bad.zip", lambda n, d: flip(offset)(d) if n == target else d)
    report = verify_bundle(bad, key.public_path)
    assert not report.ok
    assert any(p.startswith(f"{target}: sha256 mismatch (manifest ") and ", file " in p for p in report.problems), \
        report.problems


def test_a_flipped_byte_in_the_manifest_or_its_signature_fails_the_signature(signed, key, tmp_path):
    fp = signing.short(key.fingerprint)
    for member in ("manifest.json", "manifest.sig"):
        bad = rewrite(signed, tmp_path / "bad.zip", lambda n, d, m=member: flip(40)(d) if n == m else d)
        report = verify_bundle(bad, key.public_path)
        assert f"manifest.json: signature does not verify with key {fp}" in report.problems, report.problems


def test_a_removed_member_fails_naming_it(signed, key, tmp_path):
    shot = next(n for n in names(signed) if n.startswith("screenshots/"))
    report = verify_bundle(rewrite(signed, tmp_path / "bad.zip", drop=(shot,)), key.public_path)
    assert f"{shot}: listed in the manifest but missing from the bundle" in report.problems
    assert any(p.startswith("trace.jsonl: step ") and "which is not in the bundle" in p for p in report.problems)
    report = verify_bundle(rewrite(signed, tmp_path / "nosig.zip", drop=("manifest.sig",)))
    assert report.problems == [(f"manifest.sig: missing, but the manifest says key {signing.short(key.fingerprint)} "
                               "signed it")]
    report = verify_bundle(rewrite(signed, tmp_path / "nomanifest.zip", drop=("manifest.json",)))
    assert report.problems == ["manifest.json: missing; nothing in the bundle can be checked"]


def test_an_edited_manifest_fails_the_signature(signed, key, tmp_path):
    def edit(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["run"]["package"] = "com.someone.else"
        return reencode_manifest(manifest)

    report = verify_bundle(rewrite(signed, tmp_path / "bad.zip", edit), key.public_path)
    assert report.problems == [f"manifest.json: signature does not verify with key {signing.short(key.fingerprint)}"]


def test_a_rewritten_trace_with_a_matching_manifest_still_breaks_the_chain(run, tmp_path):
    """Unsigned bundles: whoever edits a step and updates the manifest's sum is caught by the chain."""
    bundle = tmp_path / "plain.zip"
    export_bundle(run, bundle)
    original = zipfile.ZipFile(bundle).read("trace.jsonl").splitlines(keepends=True)
    step = json.loads(original[9])
    step["t"] += 1.0
    edited = (json.dumps(step, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode()
    new_trace = b"".join([*original[:9], edited, *original[10:]])

    def edit(name: str, data: bytes) -> bytes:
        if name == "trace.jsonl":
            return new_trace
        if name == "manifest.json":
            import hashlib

            manifest = json.loads(data)
            manifest["files"]["trace.jsonl"] = {"sha256": hashlib.sha256(new_trace).hexdigest(),
                                                "size": len(new_trace)}
            return reencode_manifest(manifest)
        return data

    report = verify_bundle(rewrite(bundle, tmp_path / "bad.zip", edit))
    assert report.problems == [(f"trace.jsonl: hash chain broken at step {step['seq']}: its content does not match "
                               "its hash")]
    dropped = b"".join(original[:-1])  # the last step removed, manifest updated to match

    def cut(name: str, data: bytes) -> bytes:
        if name == "trace.jsonl":
            return dropped
        if name == "manifest.json":
            import hashlib

            manifest = json.loads(data)
            manifest["files"]["trace.jsonl"] = {"sha256": hashlib.sha256(dropped).hexdigest(), "size": len(dropped)}
            return reencode_manifest(manifest)
        return data

    report = verify_bundle(rewrite(bundle, tmp_path / "cut.zip", cut))
    assert len(report.problems) == 1 and "but the manifest's head is step" in report.problems[0]


def test_a_substituted_screenshot_is_caught_by_its_content_address_even_with_a_matching_manifest(run, tmp_path):
    import hashlib

    bundle = tmp_path / "plain.zip"
    export_bundle(run, bundle)
    shot = next(n for n in names(bundle) if n.startswith("screenshots/"))
    fake = b"\x89PNG\r\n\x1a\n a different picture"

    def swap(name: str, data: bytes) -> bytes:
        if name == shot:
            return fake
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["files"][shot] = {"sha256": hashlib.sha256(fake).hexdigest(), "size": len(fake)}
            return reencode_manifest(manifest)
        return data

    report = verify_bundle(rewrite(bundle, tmp_path / "bad.zip", swap))
    assert len(report.problems) == 1 and report.problems[0].startswith(f"{shot}: content does not match its name")


def test_a_tampered_slice_step_or_link_is_named(run, tmp_path):
    with RunStore.open(run) as store:
        finding = next(f for f in store.findings() if f["kind"] == "quit_on_refusal")
    bundle = tmp_path / "slice.zip"
    export_bundle(run, bundle, finding_id=finding["id"])
    links = zipfile.ZipFile(bundle).read("chain.txt").decode().splitlines()
    seq, _digest = links[finding["steps"][0] - 1].split()
    links[int(seq) - 1] = f"{seq} {'0' * 64}"
    report = verify_bundle(rewrite(bundle, tmp_path / "bad.zip",
                                   lambda n, d: ("\n".join(links) + "\n").encode() if n == "chain.txt" else d))
    assert report.problems[0].startswith("chain.txt: sha256 mismatch")
    assert f"trace.jsonl: hash chain broken at step {seq}: it is not the link chain.txt records there" in \
        report.problems


def test_an_added_member_is_named(signed, key, tmp_path):
    report = verify_bundle(rewrite(signed, tmp_path / "bad.zip", add=(("notes.txt", b"trust me"),)),
                           key.public_path)
    assert report.problems == ["notes.txt: in the bundle but not listed in the manifest"]


# -- unsafe zips --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, why", [
    ("evil/../../x", "path traversal refused"),
    ("../x", "path traversal refused"),
    ("/etc/cron.d/x", "path traversal refused"),
    ("C:/Windows/x", "path traversal refused"),
    ("screenshots\\..\\..\\x", "path traversal refused"),
    ("a//b", "unusual path refused"),
    ("dir/", "directory entry refused"),
    ("bell\x07.txt", "control character"),
])
def test_zip_slip_and_odd_names_are_refused_and_never_written(signed, tmp_path, name, why, monkeypatch):
    monkeypatch.chdir(tmp_path)
    info = zipfile.ZipInfo(name)
    bad = rewrite(signed, tmp_path / "bad.zip", add=((info, b"payload"),))
    report = verify_bundle(bad)
    problem = next(p for p in report.problems if why in p)
    assert "\x07" not in problem  # hostile names are printed escaped
    assert len(report.problems) == 1, report.problems  # refused, so not also "not listed"
    assert not (tmp_path.parent / "x").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.zip"]


def test_a_symlink_member_is_refused(signed, tmp_path):
    link = zipfile.ZipInfo("screenshots/shortcut.png")
    link.create_system = 3
    link.external_attr = 0o120777 << 16
    report = verify_bundle(rewrite(signed, tmp_path / "bad.zip", add=((link, b"/etc/passwd"),)))
    assert report.problems == ["screenshots/shortcut.png: symbolic link refused"]


def test_oversized_members_and_zip_bombs_are_refused_unread(signed, tmp_path):
    big = zipfile.ZipInfo("big.bin")
    report = verify_bundle(rewrite(signed, tmp_path / "big.zip", add=((big, b"x" * 200_000),)),
                           limits=Limits(member_bytes=100_000))
    assert report.problems == ["big.bin: member too large (200000 bytes; limit 100000)"]
    report = verify_bundle(signed, limits=Limits(total_bytes=10_000))
    assert report.problems[0].startswith("bundle: ") and "bytes uncompressed refused (limit 10000)" in \
        report.problems[0]
    bomb = zipfile.ZipInfo("bomb.bin")
    bomb.compress_type = zipfile.ZIP_DEFLATED
    report = verify_bundle(rewrite(signed, tmp_path / "bomb.zip", add=((bomb, bytes(20 << 20)),)))
    assert len(report.problems) == 1 and report.problems[0].startswith("bomb.bin: compression ratio ")
    assert report.size < (20 << 20)  # never inflated


def test_bytes_outside_the_members_are_refused_even_when_every_member_verifies(signed, key, tmp_path):
    """A streaming unzipper reads local records from the first byte: a zip put in front of a signed bundle shows its
    own findings.json there, while the central directory (what verify reads) still points at the signed members."""
    import io

    decoy = io.BytesIO()
    with zipfile.ZipFile(decoy, "w") as z:
        z.writestr("findings.json", b"[]\n")
    local_records = decoy.getvalue()[: decoy.getvalue().find(b"PK\x01\x02")]
    prepended = tmp_path / "prepended.zip"
    prepended.write_bytes(local_records + signed.read_bytes())
    appended = tmp_path / "appended.zip"
    appended.write_bytes(signed.read_bytes() + b"hidden")
    canonical = "; a bundle is its canonical zip, nothing else is accepted"
    [problem] = verify_bundle(prepended, key.public_path).problems  # the decoy's own time is where it first differs
    assert problem.startswith("bundle: byte 10 (the local header of findings.json, time) is not what a canonical "
                              "bundle holds there: ") and problem.endswith(canonical)
    assert verify_bundle(appended, key.public_path).problems == ["bundle: 6 bytes after the end record refused"
                                                                 + canonical]
    commented = tmp_path / "commented.zip"
    commented.write_bytes(signed.read_bytes()[:-2] + b"\x1c\x00" + b"not covered by the signature")
    assert verify_bundle(commented, key.public_path).problems == [
        f"bundle: byte {signed.stat().st_size - 2} (the end record, comment length) is not what a canonical bundle "
        "holds there: 0x1c, expected 0x00" + canonical]
    repacked = rewrite(signed, tmp_path / "repacked.zip")  # zipfile, given the same entries, writes the same bytes
    assert repacked.read_bytes() == signed.read_bytes() and verify_bundle(repacked, key.public_path).ok


def test_duplicate_names_are_refused(signed, tmp_path):
    report = verify_bundle(rewrite(signed, tmp_path / "dup.zip", add=(("findings.json", b"[]"),)))
    assert "findings.json: duplicate member refused (2 entries with this name)" in report.problems


# -- bad input ----------------------------------------------------------------------------------------------------
def test_bad_input_is_one_line_each(run, key, signed, tmp_path):
    bare = record(tmp_path / "runs", "not-derived", analyze=False)
    with pytest.raises(ExportError, match="not-derived: the run's findings were never derived"):
        export_bundle(bare, tmp_path / "x.zip")
    with RunStore.open(bare) as store:
        store.write_findings([])  # derived: a clean app
    with pytest.raises(ExportError, match="not-derived: the run has no findings to export"):
        export_bundle(bare, tmp_path / "x.zip")
    with pytest.raises(ExportError, match=r"no finding 'nope' \(findings: "):
        export_bundle(run, tmp_path / "x.zip", finding_id="nope")
    with pytest.raises(KeyFileError, match="missing.key: no such key file"):
        export_bundle(run, tmp_path / "x.zip", sign_key=tmp_path / "missing.key")
    with pytest.raises(KeyFileError, match="is a public key"):
        export_bundle(run, tmp_path / "x.zip", sign_key=key.public_path)
    with pytest.raises(ExportError, match="no such directory"):
        export_bundle(run, tmp_path / "nowhere" / "x.zip")
    assert not (tmp_path / "x.zip").exists()
    unsigned = tmp_path / "unsigned.zip"
    export_bundle(run, unsigned)
    assert verify_bundle(unsigned).ok
    assert verify_bundle(unsigned, key.public_path).problems == ["bundle is not signed but --pub was given"]
    stranger = signing.generate_keypair(tmp_path / "stranger.key")
    assert verify_bundle(signed, stranger.public_path).problems == [
        (f"manifest.json: signature does not verify with key {signing.short(stranger.fingerprint)} "
        f"(the bundle names key {signing.short(key.fingerprint)})")]
    with pytest.raises(BundleError, match="absent.zip: no such bundle file"):
        verify_bundle(tmp_path / "absent.zip")
    (tmp_path / "text.zip").write_text("not a zip")
    with pytest.raises(BundleError, match="text.zip: not an evidence bundle \\(not a zip file"):
        verify_bundle(tmp_path / "text.zip")
    with pytest.raises(KeyFileError, match="no such key file"):
        verify_bundle(signed, tmp_path / "absent.pub")


def test_export_never_writes_into_the_run(tmp_path):
    run = record(tmp_path)
    trace = (run / "trace.sqlite").read_bytes()
    for target in (run / "trace.sqlite", run / "evidence.zip"):
        with pytest.raises(ExportError, match=f"{target}: is inside the run"):
            export_bundle(run, target)
        with pytest.raises(ExportError, match="is inside the run"):
            export_bundle(run / "trace.sqlite", target)  # the run named by its database
    assert (run / "trace.sqlite").read_bytes() == trace and not (run / "evidence.zip").exists()


def test_a_tampered_run_is_not_exported(tmp_path):
    run = record(tmp_path / "runs")
    with sqlite3.connect(run / "trace.sqlite") as db:
        db.execute("UPDATE steps SET t = t + 1 WHERE seq = 7")
    with pytest.raises(ExportError, match="hash chain broken at step 7.*not exported"):
        export_bundle(run, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_hostile_json_and_members_dropped_from_the_manifest_too_are_named_without_a_crash(run, tmp_path):
    import hashlib

    bundle = tmp_path / "plain.zip"
    export_bundle(run, bundle)

    def drop_from_manifest(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        del manifest["files"]["trace.jsonl"]
        return reencode_manifest(manifest)

    report = verify_bundle(rewrite(bundle, tmp_path / "notrace.zip", drop_from_manifest, drop=("trace.jsonl",)))
    assert report.problems == ["trace.jsonl: missing from the bundle (and from its manifest)"]

    deep = b"[" * 100_000 + b"]" * 100_000
    report = verify_bundle(rewrite(bundle, tmp_path / "deep.zip", lambda n, d: deep if n == "manifest.json" else d))
    assert report.problems == ["manifest.json: not valid JSON"]

    first = zipfile.ZipFile(bundle).read("trace.jsonl").splitlines(keepends=True)
    odd = json.loads(first[1])
    odd["t"] = 10 ** 400  # no float holds it
    hostile = b"".join([first[0], json.dumps(odd).encode() + b"\n", *first[2:]])

    def swap(name: str, data: bytes) -> bytes:
        if name == "trace.jsonl":
            return hostile
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["files"]["trace.jsonl"] = {"sha256": hashlib.sha256(hostile).hexdigest(), "size": len(hostile)}
            return reencode_manifest(manifest)
        return data

    report = verify_bundle(rewrite(bundle, tmp_path / "odd.zip", swap))
    assert report.problems == ["trace.jsonl: hash chain broken at step 2: its content does not match its hash"]


def test_hostile_app_text_round_trips_into_a_bundle_that_verifies(tmp_path):
    with RunStore.create(tmp_path, "hostile") as store:
        store.append("run_start", 1.0, {"app": {"package": "com.example.app"}})
        store.append("observation", 1.5, {"scene": {"text": ["\ud800 lone surrogate", "\u202ereversed", "<b>&amp;</b>",
                                                             "😀", "-0.0", 1e300, -0.0]},
                                          "png": store.put_blob(b"\xff\xd8\xff jpeg bytes")})
        store.write_findings([{"id": "x-2", "kind": "x", "steps": [2], "screenshots": []}])
    bundle = tmp_path / "hostile.zip"
    export_bundle(tmp_path / "hostile", bundle)
    report = verify_bundle(bundle)
    assert report.ok, report.problems
    assert any(n.startswith("screenshots/") and n.endswith(".jpg") for n in names(bundle))
