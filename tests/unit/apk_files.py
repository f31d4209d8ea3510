"""APK files for tests: signed with a throwaway certificate (v1 JAR signature or a v2 signing block)."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from cryptography.x509.oid import NameOID


def _cert():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "<b>Example Dev</b>")])
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return key, cert


def v1_apk(path: Path, members: dict[str, bytes] | None = None) -> Path:
    """A zip signed v1: META-INF/CERT.EC, plus `members` (default: a stub binary AndroidManifest.xml)."""
    key, cert = _cert()
    signature = (pkcs7.PKCS7SignatureBuilder().set_data(b"Signature-Version: 1.0\r\n")
                 .add_signer(cert, key, hashes.SHA256()).sign(Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature]))
    with zipfile.ZipFile(path, "w") as apk:
        for name, data in (members or {"AndroidManifest.xml": b"\x03\x00\x08\x00"}).items():
            apk.writestr(name, data)
        apk.writestr("META-INF/CERT.EC", signature)
    return path


def v2_apk(path: Path) -> tuple[Path, bytes]:
    """A zip with an APK Signing Block (scheme v2) holding one signer's certificate."""
    _, cert = _cert()
    der = cert.public_bytes(Encoding.DER)

    def prefixed(data: bytes) -> bytes:
        return struct.pack("<I", len(data)) + data

    signed_data = prefixed(b"") + prefixed(prefixed(der)) + prefixed(b"")
    signer = prefixed(signed_data) + prefixed(b"") + prefixed(b"")
    value = prefixed(prefixed(signer))
    pairs = struct.pack("<QI", len(value) + 4, 0x7109871A) + value
    size = len(pairs) + 8 + 16
    block = struct.pack("<Q", size) + pairs + struct.pack("<Q", size) + b"APK Sig Block 42"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as apk:
        apk.writestr("AndroidManifest.xml", b"\x03\x00\x08\x00")
    data = buffer.getvalue()
    eocd = data.rfind(b"PK\x05\x06")
    cd = struct.unpack_from("<I", data, eocd + 16)[0]
    tail = bytearray(data[cd:])
    struct.pack_into("<I", tail, eocd - cd + 16, cd + len(block))
    path.write_bytes(data[:cd] + block + bytes(tail))
    return path, der
