"""Ed25519 keys for bundles: keygen files and permissions, no overwriting, one-line errors for wrong keys."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from reports import signing
from reports.signing import KeyFileError


def test_keygen_writes_a_private_key_only_the_owner_can_read_and_a_public_key_beside_it(tmp_path):
    pair = signing.generate_keypair(tmp_path / "lab.key")
    assert pair.public_path == tmp_path / "lab.key.pub"
    assert stat.S_IMODE((tmp_path / "lab.key").stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in pair.private_path.read_bytes() and b"PUBLIC KEY" in pair.public_path.read_bytes()
    private, public = signing.load_private_key(pair.private_path), signing.load_public_key(pair.public_path)
    assert signing.fingerprint(private.public_key()) == signing.fingerprint(public) == pair.fingerprint
    signature = signing.sign(private, b"manifest bytes")
    assert signing.signature_verifies(public, b"manifest bytes", signature)
    assert not signing.signature_verifies(public, b"manifest bytes!", signature)
    other = signing.load_public_key(signing.generate_keypair(tmp_path / "other.key").public_path)
    assert not signing.signature_verifies(other, b"manifest bytes", signature)


def test_keygen_never_overwrites_a_key(tmp_path):
    signing.generate_keypair(tmp_path / "k")
    before = (tmp_path / "k").read_bytes()
    with pytest.raises(KeyFileError, match="already exists; not overwritten"):
        signing.generate_keypair(tmp_path / "k")
    assert (tmp_path / "k").read_bytes() == before
    (tmp_path / "j.pub").write_text("someone else's")
    with pytest.raises(KeyFileError, match="j.pub: already exists"):
        signing.generate_keypair(tmp_path / "j")
    assert not (tmp_path / "j").exists() and (tmp_path / "j.pub").read_text() == "someone else's"
    with pytest.raises(KeyFileError, match="no such directory"):
        signing.generate_keypair(tmp_path / "absent" / "k")


def test_wrong_keys_are_one_line_errors_naming_the_file(tmp_path):
    pair = signing.generate_keypair(tmp_path / "k")
    with pytest.raises(KeyFileError, match="no such key file"):
        signing.load_private_key(tmp_path / "missing")
    with pytest.raises(KeyFileError, match="is a public key"):
        signing.load_private_key(pair.public_path)
    with pytest.raises(KeyFileError, match="is a private key"):
        signing.load_public_key(pair.private_path)
    garbage = tmp_path / "garbage"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyFileError, match="garbage: not an Ed25519 private key"):
        signing.load_private_key(garbage)
    ec_key = tmp_path / "ec.pem"
    ec_key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(KeyFileError, match="not an Ed25519 key"):
        signing.load_private_key(ec_key)
    with pytest.raises(KeyFileError, match="is a directory"):
        signing.load_public_key(tmp_path)


def test_a_fifo_or_device_given_as_a_key_is_refused_without_reading_it(tmp_path):
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)  # reading it would block forever: nobody writes to it
    with pytest.raises(KeyFileError, match="key.fifo: not a regular file"):
        signing.load_private_key(fifo)
    with pytest.raises(KeyFileError, match="/dev/zero: not a regular file"):  # reading it would never end
        signing.load_public_key(Path("/dev/zero"))
