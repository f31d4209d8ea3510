"""What the host reads from an APK (crawler.apk): signing certificates (v1, v2), the label, the facts a run records."""

from __future__ import annotations

import hashlib
import importlib.util
import random
import struct
import zipfile
from pathlib import Path

import pytest

from crawler.apk import BadApk, apk_label, apk_package, apk_signers, read_apk_facts
from crawler.apk.installed import installed_apk_facts
from crawler.apk.manifest import axml_label, axml_package
from crawler.apk.resources import StringPool
from crawler.device import DeviceError
from emulator.zoo import build_sim_apk
from tests.unit.apk_files import v1_apk, v2_apk

REPO = Path(__file__).resolve().parents[2]
WEATHER = REPO / "emulator" / "zoo" / "apps" / "weather_quit.yaml"


def test_signing_certificate_from_v1_and_v2_apks(tmp_path):
    (signer,) = apk_signers(v1_apk(tmp_path / "v1.apk"))
    assert signer.scheme.startswith("v1") and "Example Dev" in signer.subject and signer.not_before == "2024-01-01"
    apk, der = v2_apk(tmp_path / "v2.apk")
    (signer,) = apk_signers(apk)
    assert signer.scheme == "v2" and signer.sha256 == hashlib.sha256(der).hexdigest()
    assert apk_signers(tmp_path / "v1.apk") and zipfile.is_zipfile(apk)


def test_facts_of_a_signed_simulator_apk_name_its_label_and_signer(tmp_path):
    plain = build_sim_apk(WEATHER, tmp_path / "plain.apk")
    with zipfile.ZipFile(plain) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    facts = read_apk_facts(v1_apk(tmp_path / "signed.apk", members))
    assert facts.label == apk_label(plain) and facts.label  # the zoo app's launcher name
    assert [s.scheme for s in facts.signers] == ["v1 (JAR)"] and not facts.problem
    assert facts.sha256 == hashlib.sha256((tmp_path / "signed.apk").read_bytes()).hexdigest()
    recorded = facts.to_json()
    assert recorded["apk_sha256"] == facts.sha256 and recorded["signers"][0]["subject"] == facts.signers[0].subject


def test_an_unsigned_apk_has_no_signers_and_a_broken_one_says_why(tmp_path):
    assert read_apk_facts(build_sim_apk(WEATHER, tmp_path / "plain.apk")).signers == ()
    broken = tmp_path / "broken.apk"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    facts = read_apk_facts(broken)
    assert facts.label == "" and facts.signers == () and "broken.apk" in facts.problem
    with pytest.raises(BadApk, match="broken.apk"):
        apk_label(broken)


def uiautomator_apk() -> Path:
    """A real, signed APK every checkout has offline: the one the uiautomator2 wheel pushes to phones."""
    apk = Path(importlib.util.find_spec("uiautomator2").origin).parent / "assets" / "app-uiautomator.apk"
    if not apk.is_file():
        pytest.skip(f"the installed uiautomator2 has no {apk.name}")
    return apk


def test_a_real_apks_label_is_resolved_from_its_resource_table():
    # <application android:label="@string/app_name"> = "ATX" in resources.arsc (its only value, every locale).
    facts = read_apk_facts(uiautomator_apk())
    assert facts.label == "ATX" and apk_label(uiautomator_apk(), prefer=()) == "ATX"
    assert facts.problem == "" and facts.signers[0].scheme == "v2"


def test_a_real_apk_with_a_damaged_resource_table_records_why_it_has_no_label(tmp_path):
    damaged = tmp_path / "damaged.apk"
    with zipfile.ZipFile(uiautomator_apk()) as source, zipfile.ZipFile(damaged, "w") as out:
        out.writestr("AndroidManifest.xml", source.read("AndroidManifest.xml"))
        out.writestr("resources.arsc", source.read("resources.arsc")[:5000])
    facts = read_apk_facts(damaged)
    assert facts.label == "" and "damaged.apk: resources.arsc: unreadable resource table" in facts.problem
    no_table = tmp_path / "no_table.apk"
    with zipfile.ZipFile(uiautomator_apk()) as source, zipfile.ZipFile(no_table, "w") as out:
        out.writestr("AndroidManifest.xml", source.read("AndroidManifest.xml"))
    with pytest.raises(BadApk, match=r"no_table.apk: the label is a resource \(@0x7f0c001f\) but there is no"):
        apk_label(no_table)


class PullingDevice:
    """A device whose installed APK is `apk` (a file), or whose pull fails / is over the cap."""

    serial = "emulator-5554"

    def __init__(self, apk: Path | None = None, error: str = "", too_big: bool = False):
        self.apk, self.error, self.too_big = apk, error, too_big

    def pull_apk(self, package: str, dest: Path) -> Path | None:
        if self.error:
            raise DeviceError(self.error)
        if self.too_big:
            return None
        dest.write_bytes(self.apk.read_bytes())
        return dest


def test_an_installed_apk_is_read_from_the_device_and_failures_only_leave_a_problem_line(tmp_path):
    sim_apk = build_sim_apk(WEATHER, tmp_path / "weather.apk")
    recorded = installed_apk_facts(PullingDevice(sim_apk), "com.example.qingtian.weather").to_json()
    assert recorded["apk_sha256"] == hashlib.sha256(sim_apk.read_bytes()).hexdigest()
    assert recorded["label"] == apk_label(sim_apk) and recorded["apk_source"] == "installed"
    assert read_apk_facts(sim_apk).to_json()["apk_source"] == "given"
    failed = installed_apk_facts(PullingDevice(error="cannot pull /data/app/x/base.apk: closed"), "com.x.y").to_json()
    assert failed["apk_sha256"] == "" and failed["apk_problem"] == "installed APK not read: cannot pull " \
        "/data/app/x/base.apk: closed"
    assert "size cap" in installed_apk_facts(PullingDevice(too_big=True), "com.x.y").to_json()["apk_problem"]


def test_a_literal_label_is_taken_as_is_and_a_damaged_manifest_is_a_bad_apk(tmp_path):
    with zipfile.ZipFile(uiautomator_apk()) as source:
        manifest = source.read("AndroidManifest.xml")
    strings = StringPool.parse(manifest, 8)
    version = next(i for i in range(strings.count) if strings.get(i) == "2.4.0")
    reference = struct.pack("<IHBBI", 0xFFFFFFFF, 8, 0, 0x01, 0x7F0C001F)  # raw value, then @string/app_name
    assert manifest.count(reference) >= 1  # the first is <application>'s: activities come after it
    literal = manifest.replace(reference, struct.pack("<IHBBI", version, 8, 0, 0x03, version), 1)
    apk = tmp_path / "literal.apk"
    with zipfile.ZipFile(apk, "w") as out:
        out.writestr("AndroidManifest.xml", literal)
    assert apk_label(apk) == "2.4.0" and apk_package(apk) == "com.github.uiautomator"
    # Cut or damaged anywhere, a manifest is read or refused as a BadApk: no other error escapes.
    rng = random.Random(7)
    cuts = [manifest[:cut] for cut in range(0, len(manifest), 41)]
    damaged = []
    for _ in range(200):
        copy = bytearray(manifest)
        for _ in range(rng.randint(1, 6)):
            copy[rng.randrange(len(copy))] = rng.randrange(256)
        damaged.append(bytes(copy))
    for data in cuts + damaged:
        for reader in (axml_label, axml_package):
            try:
                reader(data, "damaged.xml")
            except BadApk as exc:
                assert str(exc).startswith("damaged.xml: ")
    for data in cuts:  # never a silent "no label": the label as written, or refused
        try:
            assert axml_label(data, "cut.xml") == (0x01, 0x7F0C001F)
        except BadApk:
            pass


def test_a_v1_signature_file_too_large_to_be_one_is_refused_unread(tmp_path):
    bomb = tmp_path / "bomb.apk"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/CERT.RSA", b"\0" * (2 << 20))  # 2 MB of zeros: a few KB compressed
    with pytest.raises(BadApk, match="too large to be a signature file"):
        apk_signers(bomb)
