"""The signing certificates of an APK: from the APK Signature Scheme v3/v2 block when there is one (modern APKs are
often signed with v2/v3 only), else from the v1 (JAR) signature files META-INF/*.RSA|DSA|EC.

Only the certificates are read, to say who signed the app under test; signatures are not verified here (the
installer did that on the device). The APK is hostile input: every length is checked against the file.
"""

from __future__ import annotations

import hashlib
import struct
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from crawler.apk.errors import BadApk
from crawler.text_safety import export_text

EOCD_MAGIC = b"PK\x05\x06"
EOCD_SEARCH = 65_557  # the EOCD record (22 bytes) plus the longest zip comment
BLOCK_MAGIC = b"APK Sig Block 42"
BLOCK_MAX = 64 << 20
SCHEMES = ((0xF05368C0, "v3"), (0x7109871A, "v2"))  # v3 first: it is what Android 9+ uses when present
V1_SUFFIXES = (".RSA", ".DSA", ".EC")
V1_SIGNATURE_MAX = 1 << 20


@dataclass(frozen=True)
class Signer:
    """One signing certificate of an APK."""

    scheme: str  # "v1 (JAR)", "v2", "v3"
    subject: str
    issuer: str
    sha256: str
    not_before: str
    not_after: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def apk_signers(apk: Path) -> list[Signer]:
    """The certificates that signed `apk` (v3/v2 block, else v1); [] when it carries none."""
    try:
        with apk.open("rb") as handle:
            block = _signing_block(handle)
        for scheme_id, name in SCHEMES:
            if scheme_id in block:
                found = [_signer(der, name) for der in _block_certificates(block[scheme_id])]
                if found:
                    return found
        return _v1_signers(apk)
    except (OSError, zipfile.BadZipFile, struct.error, ValueError) as exc:
        raise BadApk(f"{apk}: not a readable APK ({export_text(exc, 120)})") from None


def _signing_block(handle) -> dict[int, bytes]:
    """The ID-value pairs of the APK Signing Block, {} when the APK has none (v1 only)."""
    handle.seek(0, 2)
    size = handle.tell()
    tail_start = max(0, size - EOCD_SEARCH)
    handle.seek(tail_start)
    tail = handle.read()
    at = tail.rfind(EOCD_MAGIC)
    if at < 0 or at + 22 > len(tail):
        raise ValueError("no end of central directory")
    cd_offset = struct.unpack_from("<I", tail, at + 16)[0]
    if cd_offset < 32 or cd_offset > size:
        return {}
    handle.seek(cd_offset - 24)
    footer = handle.read(24)
    if footer[8:] != BLOCK_MAGIC:
        return {}
    block_size = struct.unpack_from("<Q", footer, 0)[0]
    if block_size < 24 or block_size > min(BLOCK_MAX, cd_offset - 8):
        raise ValueError("signing block size out of range")
    handle.seek(cd_offset - block_size - 8)
    data = handle.read(block_size + 8)
    pairs, offset, end = {}, 8, len(data) - 24
    while offset + 12 <= end:
        length, pair_id = struct.unpack_from("<QI", data, offset)
        if length < 4 or offset + 8 + length > end:
            raise ValueError("signing block pair out of range")
        pairs[pair_id] = data[offset + 12: offset + 8 + length]
        offset += 8 + length
    return pairs


def _prefixed(data: bytes, offset: int) -> tuple[bytes, int]:
    (length,) = struct.unpack_from("<I", data, offset)
    start = offset + 4
    if start + length > len(data):
        raise ValueError("length prefix out of range")
    return data[start: start + length], start + length


def _sequence(data: bytes) -> list[bytes]:
    items, offset = [], 0
    while offset < len(data):
        item, offset = _prefixed(data, offset)
        items.append(item)
    return items


def _block_certificates(value: bytes) -> list[bytes]:
    """v2/v3 value: signers -> signer -> signed data -> (digests, certificates, ...)."""
    certificates = []
    signers, _ = _prefixed(value, 0)
    for signer in _sequence(signers):
        signed_data, _ = _prefixed(signer, 0)
        _digests, offset = _prefixed(signed_data, 0)
        certs, _ = _prefixed(signed_data, offset)
        certificates.extend(_sequence(certs)[:1])  # the first certificate is the signer's own
    return certificates


def _v1_signers(apk: Path) -> list[Signer]:
    with zipfile.ZipFile(apk) as archive:
        names = [n for n in archive.namelist() if n.upper().startswith("META-INF/") and n.upper().endswith(V1_SUFFIXES)]
        found = []
        for name in names[:4]:
            if archive.getinfo(name).file_size > V1_SIGNATURE_MAX:  # a signature file is a few KB: not a zip bomb
                raise ValueError(f"{name} is too large to be a signature file")
            for cert in pkcs7.load_der_pkcs7_certificates(archive.read(name))[:1]:
                found.append(_signer(cert.public_bytes(Encoding.DER), "v1 (JAR)"))
    return found


def _signer(der: bytes, scheme: str) -> Signer:
    cert = x509.load_der_x509_certificate(der)
    return Signer(scheme=scheme, subject=export_text(cert.subject.rfc4514_string()),
                  issuer=export_text(cert.issuer.rfc4514_string()), sha256=hashlib.sha256(der).hexdigest(),
                  not_before=cert.not_valid_before_utc.strftime("%Y-%m-%d"),
                  not_after=cert.not_valid_after_utc.strftime("%Y-%m-%d"))
