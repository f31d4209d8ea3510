"""A signed bundle is its canonical zip: flip a byte (with 0x01 and with 0xff) and verification fails, with problems
as lines and never a traceback. The CLI says so in one line per problem and exits non-zero.

Here every byte that is not a member's content is flipped (every local header, directory entry, the end record), and
every byte of the signature; member contents (hashed into the manifest, the manifest signed) every 11th byte. The
fuzz sweep (tests/fuzz) flips every byte of the whole bundle."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from reports import signing
from reports.bundle import export_bundle
from reports.bundle_verify import BundleError, verify_bundle
from reports.bundle_zip import LOCAL
from tests.cli_runner import naysayer
from tests.unit.evidence_runs import tiny_run

CONTENT_STEP = 11  # inside members' contents, every 11th byte is flipped here


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> tuple[Path, signing.KeyPair]:
    root = tmp_path_factory.mktemp("canonical")
    key = signing.generate_keypair(root / "lab.key")
    bundle = root / "evidence.zip"
    export_bundle(tiny_run(root), bundle, sign_key=key.private_path)
    return bundle, key


def contents(bundle: Path) -> list[range]:
    """Where each member's content lies, except the signature's (flipped in full)."""
    with zipfile.ZipFile(bundle) as archive:
        infos = [i for i in archive.infolist() if i.filename != "manifest.sig"]
    starts = [i.header_offset + LOCAL.size + len(i.filename) for i in infos]
    return [range(start, start + i.file_size) for start, i in zip(starts, infos, strict=True)]


def fails(path: Path, pub: Path) -> bool:
    try:
        report = verify_bundle(path, pub)
    except BundleError as exc:  # not readable as a zip at all: one line, exit 2
        return "\n" not in str(exc)
    return not report.ok and all("\n" not in p for p in report.problems)


def test_every_byte_flipped_fails_verification(signed, tmp_path):
    bundle, key = signed
    original = bundle.read_bytes()
    assert verify_bundle(bundle, key.public_path).ok
    spans = contents(bundle)
    positions = [i for i in range(len(original))
                 if not any(i in span for span in spans) or any((i - s.start) % CONTENT_STEP == 0 and i in s
                                                                for s in spans)]
    target = tmp_path / "flipped.zip"
    passed = []
    for position in positions:
        for mask in (0x01, 0xFF):
            data = bytearray(original)
            data[position] ^= mask
            target.write_bytes(data)
            if not fails(target, key.public_path):
                passed.append((position, mask))
    assert not passed, f"{len(passed)} flips verified, first {passed[:10]}"
    assert len(positions) > 2500


def test_zip_tricks_fail(signed, tmp_path):
    bundle, key = signed
    original = bundle.read_bytes()
    end = len(original) - 22
    tricks = {
        "archive comment": original[:-2] + b"\x05\x00" + b"hello",
        "trailing bytes": original + b"\x00",
        "leading bytes": b"\x00" + original,
        "cut end record": original[:-1],
        "a data-descriptor flag": _patch(original, 6, b"\x08\x00"),  # first local header's flags
        "a deflate method": _patch(original, 8, b"\x08\x00"),
        "a later time": _patch(original, 10, b"\x01\x00"),
        "an extra field length": _patch(original, 28, b"\x04\x00"),
        "a zip64 end record count": _patch(original, end + 8, b"\xff\xff"),
    }
    for what, data in tricks.items():
        path = tmp_path / "trick.zip"
        path.write_bytes(data)
        assert fails(path, key.public_path), what


def test_the_cli_says_each_flip_on_lines_without_a_traceback(signed, tmp_path):
    bundle, key = signed
    original = bundle.read_bytes()
    with zipfile.ZipFile(bundle) as archive:
        directory = archive.start_dir
    # the "version needed" byte of the first local header and of the first directory entry (a NotImplementedError
    # traceback from zipfile before), a name byte, and the end record's entry count
    for position in (4, directory + 6, 30, len(original) - 12):
        data = bytearray(original)
        data[position] ^= 0xFF
        path = tmp_path / f"flip-{position}.zip"
        path.write_bytes(data)
        result = naysayer("verify", str(path), "--pub", str(key.public_path))
        assert result.returncode in (1, 2), (position, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and "Error" not in result.stdout, (position, result.stderr)
        text = (result.stdout + result.stderr).strip()
        assert "FAILED" in text or text.startswith("naysayer: "), (position, text)


def _patch(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new):]
