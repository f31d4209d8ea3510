"""Evidence bundles as a user makes them: crawl a zoo app on a simulated phone, `naysayer keygen`, `export --sign-key`,
`verify --pub`; exit 0 ok, 1 verification failed (each problem named), 2 bad input (one line)."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import pytest

from emulator.sim.device import SimDevice
from emulator.zoo import load_zoo
from tests.cli_runner import naysayer, one_line_error

REPO = Path(__file__).resolve().parents[2]
WEATHER = "com.example.qingtian.weather"


@pytest.fixture(scope="module")
def run_dir(adb_server, tmp_path_factory) -> Path:
    from emulator.sim.adb_server import serve_backend

    backend = SimDevice("sim", skin="aosp-13", apps=load_zoo([REPO / "emulator/zoo/apps/weather_quit.yaml"]),
                        storage_dir=tmp_path_factory.mktemp("dev"))
    registered = serve_backend(adb_server.client, backend)
    backend.set_serial(registered.serial)
    try:
        out = tmp_path_factory.mktemp("runs")
        result = naysayer("crawl", "--device", registered.serial, "--app", WEATHER, "--budget", "30s", "--idle", "0",
                          "--no-ocr", "--quiet", "--out", str(out), "--json")
        assert result.returncode == 0, result.stderr[-2000:]
        return Path(json.loads(result.stdout)["run"])
    finally:
        registered.stop()


def test_keygen_export_signed_and_verify_with_the_public_key(run_dir, tmp_path):
    keygen = naysayer("keygen", "-o", str(tmp_path / "lab.key"))
    assert keygen.returncode == 0, keygen.stderr
    assert stat.S_IMODE((tmp_path / "lab.key").stat().st_mode) == 0o600 and (tmp_path / "lab.key.pub").is_file()
    bundle = tmp_path / "evidence.zip"
    export = naysayer("export", str(run_dir), "-o", str(bundle), "--sign-key", str(tmp_path / "lab.key"))
    assert export.returncode == 0, export.stderr
    assert export.stdout.strip() == str(bundle)
    members = zipfile.ZipFile(bundle).namelist()
    assert any(n.startswith("screenshots/") for n in members) and "manifest.sig" in members
    verified = naysayer("verify", str(bundle), "--pub", str(tmp_path / "lab.key.pub"))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "verified" in verified.stdout and "checked with --pub" in verified.stdout
    as_json = json.loads(naysayer("verify", str(bundle), "--json", "--pub", str(tmp_path / "lab.key.pub")).stdout)
    assert as_json["ok"] and as_json["signature"] == "verified" and as_json["whole_trace"]
    run_check = json.loads(naysayer("verify", str(run_dir), "--json").stdout)  # runs verify as before
    assert run_check["ok"] and run_check["steps"] == as_json["head_seq"] == as_json["steps"]

    finding = json.loads(naysayer("findings", str(run_dir), "--json").stdout)[0]["id"]
    one = tmp_path / "one.zip"
    sliced = naysayer("export", str(run_dir), "--finding", finding, "-o", str(one), "--sign-key",
                      str(tmp_path / "lab.key"), "--json")
    assert sliced.returncode == 0, sliced.stderr
    assert json.loads(sliced.stdout)["findings"] == [finding]
    assert naysayer("verify", str(one), "--pub", str(tmp_path / "lab.key.pub")).returncode == 0

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as zin, zipfile.ZipFile(tampered, "w") as zout:
        shot = next(n for n in zin.namelist() if n.startswith("screenshots/"))
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, data[:-1] + bytes([data[-1] ^ 1]) if info.filename == shot else data)
    failed = naysayer("verify", str(tampered), "--pub", str(tmp_path / "lab.key.pub"))
    assert failed.returncode == 1 and "verification FAILED" in failed.stdout
    assert f"  {shot}: sha256 mismatch (manifest " in failed.stdout and "Traceback" not in failed.stderr


def test_bad_input_is_one_line_and_an_unsigned_bundle_fails_with_pub(run_dir, tmp_path):
    naysayer("keygen", "-o", str(tmp_path / "k"))
    one_line_error(naysayer("keygen", "-o", str(tmp_path / "k")), "already exists")
    one_line_error(naysayer("export", str(run_dir), "-o", str(tmp_path / "x.zip"), "--sign-key",
                            str(tmp_path / "absent")), "absent: no such key file")
    one_line_error(naysayer("export", str(run_dir), "-o", str(tmp_path / "x.zip"), "--sign-key",
                            str(tmp_path / "k.pub")), "is a public key")
    one_line_error(naysayer("export", str(run_dir), "-o", str(tmp_path / "x.zip"), "--finding", "no-such-1"),
                   "no finding 'no-such-1'")
    from crawler.store import RunStore

    with RunStore.create(tmp_path, "clean") as store:
        store.append("run_start", 1.0, {"app": {"package": WEATHER}})
    # a crawl that ended before deriving findings is never exported as clean
    one_line_error(naysayer("export", str(tmp_path / "clean"), "-o", str(tmp_path / "x.zip")), "never derived")
    with RunStore.open(tmp_path / "clean") as store:
        store.write_findings([])
    one_line_error(naysayer("export", str(tmp_path / "clean"), "-o", str(tmp_path / "x.zip")), "no findings")
    one_line_error(naysayer("verify", str(tmp_path / "absent.zip")), "no such bundle file")
    (tmp_path / "notes.zip").write_text("hello")
    one_line_error(naysayer("verify", str(tmp_path / "notes.zip")), "not a zip file")
    one_line_error(naysayer("verify", str(run_dir), "--pub", str(tmp_path / "k.pub")), "--pub")
    unsigned = tmp_path / "unsigned.zip"
    assert naysayer("export", str(run_dir), "-o", str(unsigned)).returncode == 0
    result = naysayer("verify", str(unsigned), "--pub", str(tmp_path / "k.pub"))
    assert result.returncode == 1
    assert result.stdout.strip().splitlines()[1:] == ["  bundle is not signed but --pub was given"]
    one_line_error(naysayer("verify", str(unsigned), "--pub", str(tmp_path / "nokey.pub")), "no such key file")
