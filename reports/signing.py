"""Ed25519 keys and signatures for evidence bundles.

`generate_keypair(path)` writes the private key (PEM, PKCS#8, unencrypted) to `path` with mode 0600 and the public key
(PEM, SubjectPublicKeyInfo) to `path.pub`; it never overwrites a file. A key's fingerprint is the sha256 (hex) of the
32 raw public key bytes: the manifest records it, and messages show its first 16 hex digits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crawler.errors import UserError

ALGORITHM = "Ed25519"
KEY_FILE_LIMIT = 64 * 1024  # a PEM key is a few hundred bytes; anything far larger is not a key
SHOWN_FINGERPRINT = 16  # hex digits of a fingerprint shown in messages


class KeyFileError(UserError):
    """A key file that is missing, unreadable, of the wrong kind, or already exists (keygen)."""


@dataclass(frozen=True)
class KeyPair:
    private_path: Path
    public_path: Path
    fingerprint: str


def public_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".pub")


def raw_public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public_bytes(key)).hexdigest()


def short(fingerprint_hex: str) -> str:
    return fingerprint_hex[:SHOWN_FINGERPRINT]


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create `path` with `mode` from the start (never a moment world-readable); refuse an existing file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise KeyFileError(f"{path}: already exists; not overwritten (choose another path)") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)  # the umask may have narrowed it; make it exactly `mode`


def generate_keypair(path: Path) -> KeyPair:
    path = Path(path)
    public_path = public_path_for(path)
    for target in (path, public_path):
        if target.exists() or target.is_symlink():
            raise KeyFileError(f"{target}: already exists; not overwritten (choose another path)")
    if not path.parent.is_dir():
        raise KeyFileError(f"{path.parent}: no such directory")
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    _write_new(path, private_pem, 0o600)
    try:
        _write_new(public_path, public_pem, 0o644)
    except KeyFileError:
        path.unlink()  # no half key pair left behind
        raise
    return KeyPair(path, public_path, fingerprint(private.public_key()))


def _read_key_file(path: Path, what: str) -> bytes:
    path = Path(path)
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise KeyFileError(f"{path}: is a directory, not a key file")
        if not stat.S_ISREG(mode):  # a FIFO would block forever, /dev/zero would never end
            raise KeyFileError(f"{path}: not a regular file, so not a key file")
        with path.open("rb") as handle:
            data = handle.read(KEY_FILE_LIMIT + 1)  # bounded even if the file grew since stat
        if len(data) > KEY_FILE_LIMIT:
            raise KeyFileError(f"{path}: not an {ALGORITHM} {what} key (file too large)")
        return data
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no such key file") from None
    except PermissionError:
        raise KeyFileError(f"{path}: cannot read the key file (permission denied)") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    data = _read_key_file(path, "private")
    if b"PUBLIC KEY" in data:
        raise KeyFileError(f"{path}: is a public key; signing needs the private key (the file without .pub)")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyFileError(f"{path}: the private key is encrypted; naysayer needs an unencrypted key") from None
    except (ValueError, binascii.Error):
        raise KeyFileError(f"{path}: not an {ALGORITHM} private key in PEM "
                           "(make one with `naysayer keygen -o PATH`)") from None
    except UnsupportedAlgorithm:
        raise KeyFileError(f"{path}: not an {ALGORITHM} private key in PEM") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: is a {type(key).__name__.removeprefix('_')} key, not an {ALGORITHM} key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    data = _read_key_file(path, "public")
    if b"PRIVATE KEY" in data:
        raise KeyFileError(f"{path}: is a private key; verify with the public key ({path}.pub)")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, binascii.Error):
        raise KeyFileError(f"{path}: not an {ALGORITHM} public key in PEM (the .pub file from `naysayer keygen`)") \
            from None
    except UnsupportedAlgorithm:
        raise KeyFileError(f"{path}: not an {ALGORITHM} public key in PEM") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path}: is a {type(key).__name__.removeprefix('_')} key, not an {ALGORITHM} key")
    return key


def public_key_from_raw(text: str) -> Ed25519PublicKey | None:
    """The public key a manifest carries (base64 of the 32 raw bytes), or None if it is not one."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error, UnicodeEncodeError, AttributeError):
        return None


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public_bytes(key)).decode("ascii")


def sign(key: Ed25519PrivateKey, message: bytes) -> bytes:
    """The signature file's bytes: base64 of the 64-byte Ed25519 signature and a newline."""
    return base64.b64encode(key.sign(message)) + b"\n"


def signature_is_canonical(signature_file: bytes) -> bool:
    """The signature file is exactly what `sign` writes: no other whitespace, padding or alphabet."""
    try:
        raw = base64.b64decode(signature_file.strip(), validate=True)
    except (ValueError, binascii.Error):
        return False
    return len(raw) == 64 and signature_file == base64.b64encode(raw) + b"\n"


def signature_verifies(key: Ed25519PublicKey, message: bytes, signature_file: bytes) -> bool:
    try:
        signature = base64.b64decode(signature_file.strip(), validate=True)
        key.verify(signature, message)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True
