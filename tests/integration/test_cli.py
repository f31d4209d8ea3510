"""`naysayer` as a user runs it: commands against a simulated device on the test adb server, JSON for scripts, and
one clear line (exit 2, no traceback) for every bad input."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from emulator.sim.device import SimDevice
from emulator.zoo import load_zoo
from tests.cli_runner import naysayer, one_line_error
from tests.reference import require_reference

REPO = Path(__file__).resolve().parents[2]
WEATHER = "com.example.qingtian.weather"


@pytest.fixture(scope="module")
def phone(adb_server, tmp_path_factory):
    from emulator.sim.adb_server import serve_backend

    backend = SimDevice("sim", skin="miui", apps=load_zoo(), storage_dir=tmp_path_factory.mktemp("dev"))
    registered = serve_backend(adb_server.client, backend)
    backend.set_serial(registered.serial)
    yield registered.serial
    registered.stop()


@pytest.fixture(scope="module")
def run_dir(phone, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    result = naysayer("crawl", "--device", phone, "--app", WEATHER, "--budget", "40s", "--idle", "0", "--no-ocr",
                      "--quiet", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    run = Path(result.stdout.strip().splitlines()[-1])  # the run directory is printed last
    assert run.parent == out and (run / "trace.sqlite").is_file()
    return run


def test_devices_lists_the_simulated_phone(phone):
    result = naysayer("devices", "--json")
    assert result.returncode == 0, result.stderr
    device = next(d for d in json.loads(result.stdout) if d["serial"] == phone)
    assert device["state"] == "device" and device["rom"] == "MIUI" and device["sdk"] >= 29


def test_findings_analyze_graph_verify_on_a_crawl(run_dir):
    findings = json.loads(naysayer("findings", str(run_dir), "--json").stdout)
    kinds = {f["kind"] for f in findings}
    assert "quit_on_refusal" in kinds
    for f in findings:
        assert {"id", "kind", "package", "time", "steps", "metrics", "basis"} <= set(f)
    assert len({f["id"] for f in findings}) == len(findings)
    quit = next(f for f in findings if f["kind"] == "quit_on_refusal")
    assert quit["metrics"]["exit_type"] == "died" and 0 < quit["metrics"]["seconds_to_exit"] <= 10
    analyzed = naysayer("analyze", str(run_dir), "--json")
    assert analyzed.returncode == 0 and {f["id"] for f in json.loads(analyzed.stdout)} == {f["id"] for f in findings}
    table = naysayer("findings", str(run_dir))
    assert "quit_on_refusal" in table.stdout
    graph = json.loads(naysayer("graph", str(run_dir), "--format", "json").stdout)
    assert graph["nodes"] and graph["links"]
    assert naysayer("graph", str(run_dir), "--format", "dot").stdout.startswith("digraph")
    verified = naysayer("verify", str(run_dir), "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"] is True


def test_replay_repeats_a_run_on_the_device(phone, run_dir, tmp_path):
    result = naysayer("crawl", "--device", phone, "--app", WEATHER, "--strategy", "replay", "--replay", str(run_dir),
                      "--budget", "40s", "--idle", "0", "--no-ocr", "--quiet", "--out", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    replayed = Path(json.loads(result.stdout)["run"])
    kinds = {f["kind"] for f in json.loads(naysayer("findings", str(replayed), "--json").stdout)}
    assert "quit_on_refusal" in kinds  # the finding reproduces on a fresh start of the app


def test_broken_chain_is_named_and_nothing_is_rewritten(run_dir, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    with sqlite3.connect(broken / "trace.sqlite") as db:
        db.execute("UPDATE steps SET t = t + 1 WHERE seq = 5")
        before = db.execute("SELECT count(*) FROM findings").fetchone()
    one_line_error(naysayer("analyze", str(broken)), "hash chain broken at step 5")
    with sqlite3.connect(broken / "trace.sqlite") as db:
        assert db.execute("SELECT count(*) FROM findings").fetchone() == before
    assert naysayer("verify", str(broken)).returncode == 1


def test_verify_tells_a_missing_screenshot_from_a_broken_chain(run_dir, tmp_path):
    import shutil

    damaged = tmp_path / "damaged"
    shutil.copytree(run_dir, damaged)
    next(p for p in (damaged / "blobs").rglob("*") if p.is_file()).unlink()
    result = naysayer("verify", str(damaged))
    assert result.returncode == 1
    assert "hash chain intact" in result.stdout and "missing" in result.stdout
    assert naysayer("analyze", str(damaged)).returncode == 0  # findings rest on the chain, which holds


def test_bad_inputs_are_one_line_each(phone, tmp_path):
    one_line_error(naysayer("crawl", "--device", "emulator-9", "--app", WEATHER, "--quiet"), "no such device")
    one_line_error(naysayer("crawl", "--device", phone, "--app", "com.absent.app", "--quiet", "--out", str(tmp_path)),
                   "not installed")
    one_line_error(naysayer("crawl", "--device", phone, "--app", "not a package", "--quiet"), "package name")
    text_file = tmp_path / "app.apk"
    text_file.write_text("not an apk")
    one_line_error(naysayer("crawl", "--device", phone, "--app", WEATHER, "--apk", str(text_file), "--quiet"),
                   "not an APK")
    fake_apk = tmp_path / "fake.apk"
    with zipfile.ZipFile(fake_apk, "w") as z:
        z.writestr("classes.dex", b"dex\n035")
    one_line_error(naysayer("crawl", "--device", phone, "--app", WEATHER, "--apk", str(fake_apk), "--quiet"),
                   "install failed")
    one_line_error(naysayer("findings", str(tmp_path)), "not a naysayer run")
    one_line_error(naysayer("analyze", str(tmp_path / "nothing")), "not a naysayer run")
    one_line_error(naysayer("inspect", "--xml", str(tmp_path / "missing.xml")), "missing.xml")
    bad_xml = tmp_path / "bad.xml"
    bad_xml.write_text('<!DOCTYPE x [<!ENTITY a "b">]><hierarchy>&a;</hierarchy>')
    one_line_error(naysayer("inspect", "--xml", str(bad_xml)), "bad.xml")
    one_line_error(naysayer("sim", "serve", "--skin", "nokia"), "nokia")
    assert list(tmp_path.glob("*/trace.sqlite")) == []  # none of these created a run


def test_inspect_reads_a_real_aosp_dialog():
    real = require_reference("real/xml/derived_from_droidbot")
    result = naysayer("inspect", "--xml", str(real / "anupam.acrylic__2023-10-19_025247.xml"), "--json")
    data = json.loads(result.stdout)
    assert data["scene"] == "permission_dialog" and "deny" in data["actions"]
    assert len(data["actions"]["deny"]["bounds"]) == 4


def test_skins_and_help():
    skins = json.loads(naysayer("sim", "skins", "--json").stdout)
    assert {"aosp-10", "aosp-14", "miui", "emui"} <= {s["name"] for s in skins}
    assert "--budget" in naysayer("crawl", "--help").stdout


def test_kinds_lists_the_taxonomy_with_thresholds_and_basis():
    kinds = json.loads(naysayer("kinds", "--json").stdout)
    assert len(kinds) == 16
    quit = next(k for k in kinds if k["kind"] == "quit_on_refusal")
    assert quit["thresholds"][0]["source"] == "OURS" and quit["basis"][0]["document"].startswith("工信部信管函")
    table = naysayer("kinds", "--lang", "zh").stdout
    assert "[app_store]" in table and "拒绝权限后应用退出" in table


def test_a_threshold_can_be_overridden_when_analyzing(run_dir):
    strict = json.loads(naysayer("analyze", str(run_dir), "--json", "--set", "quit_on_refusal.window_s=0.1").stdout)
    assert "quit_on_refusal" not in {f["kind"] for f in strict}  # the app took longer than 0.1 s to quit
    one_line_error(naysayer("analyze", str(run_dir), "--set", "quit_on_refusal.nonsense=1"), "nonsense")
    naysayer("analyze", str(run_dir))  # restore the default findings for the other tests


def test_sim_serve_prints_serials_that_adb_sees_and_stops_cleanly(adb_server):
    serve = subprocess.Popen([sys.executable, "-m", "crawler.cli", "sim", "serve", "--devices", "2", "--skin",
                              "emui", "--locale", "en-US", "--apps", str(REPO / "emulator/zoo/apps/weather_quit.yaml")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        serials = [serve.stdout.readline().strip() for _ in range(2)]
        states = {d.serial: d.state for d in adb_server.client.list()}
        assert all(states.get(s) == "device" for s in serials), (serials, states)
        listed = json.loads(naysayer("devices", "--json").stdout)
        emui = [d for d in listed if d["serial"] in serials]
        assert len(emui) == 2 and all(d["rom"] == "EMUI" for d in emui)
    finally:
        serve.terminate()
        assert serve.wait(timeout=20) == 0


def test_lab_crawls_a_list_of_apps_across_devices_and_keeps_going_past_a_bad_one(phone, adb_server, tmp_path):
    from emulator.sim.adb_server import serve_backend
    from emulator.zoo import build_sim_apk

    second = SimDevice("sim2", skin="aosp-11", apps=load_zoo(), storage_dir=tmp_path / "dev2")
    registered = serve_backend(adb_server.client, second)
    second.set_serial(registered.serial)
    weather_apk = build_sim_apk(REPO / "emulator/zoo/apps/weather_quit.yaml", tmp_path / "weather.apk")
    (tmp_path / "corrupt.apk").write_bytes(b"PK\x03\x04 cut short")
    apps = tmp_path / "apps.txt"
    apps.write_text(f"# tonight\n{weather_apk}\ncom.example.scanly  # the polite one\ncom.absent.app\nmissing.apk\n"
                    "corrupt.apk\ncom.example.scanly\n")
    out = tmp_path / "lab"
    try:
        result = naysayer("lab", "run", str(apps), "--devices", f"{phone},{registered.serial},emulator-3", "--budget",
                          "30s", "--idle", "0", "--no-ocr", "--json", "--out", str(out))
    finally:
        registered.stop()
    assert result.returncode == 1, result.stderr  # some apps could not be crawled, and each says why
    rows = {row["package"]: row for row in json.loads(result.stdout)["jobs"]}
    assert rows[WEATHER]["state"] == "done" and "quit_on_refusal" in rows[WEATHER]["kinds"]
    assert rows["com.example.scanly"]["state"] == "done" and rows["com.example.scanly"]["kinds"] == []
    assert {rows[WEATHER]["device"], rows["com.example.scanly"]["device"]} <= {phone, registered.serial}
    absent = rows["com.absent.app"]
    assert absent["state"] == "failed" and "not installed" in absent["error"] and absent["attempts"] == 2
    assert rows["missing.apk"]["state"] == "failed" and rows["missing.apk"]["attempts"] == 0
    assert rows["corrupt.apk"]["state"] == "failed" and "not an APK" in rows["corrupt.apk"]["error"]
    notices = [line for line in result.stderr.splitlines() if line.startswith("naysayer lab: ")]
    for words in (("missing.apk", "no such APK file"), ("corrupt.apk", "not an APK"), ("com.example.scanly",
                  "already listed"), ("emulator-3", "no such device")):
        assert len([line for line in notices if all(w in line for w in words)]) == 1, (words, result.stderr)
    assert "Traceback" not in result.stderr
    one_line_error(naysayer("lab", "run", str(tmp_path / "nope.txt"), "--devices", phone, "--out", str(tmp_path / "x")),
                   "nope.txt")
    one_line_error(naysayer("lab", "run", str(apps), "--devices", "emulator-3", "--out", str(tmp_path / "y")),
                   "no such device")
    one_line_error(naysayer("lab", "run", str(apps), "--devices", phone, "--out", str(out)), "--resume")
    one_line_error(naysayer("lab", "status", str(tmp_path / "nolab")), "not a lab folder")


def test_an_interrupted_crawl_keeps_its_run_and_says_so(phone, tmp_path):
    import signal
    import time

    crawl = subprocess.Popen([sys.executable, "-m", "crawler.cli", "crawl", "--device", phone, "--app",
                              "com.example.haowu.shop", "--budget", "3000s", "--steps", "100000", "--idle", "0",
                              "--no-ocr", "--quiet", "--out", str(tmp_path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("*/trace.sqlite")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # well into the crawl
    crawl.send_signal(signal.SIGINT)
    stdout, stderr = crawl.communicate(timeout=60)
    assert crawl.returncode == 1 and "Traceback" not in stderr, stderr
    assert "interrupted" in stderr
    run = Path(stdout.strip().splitlines()[-1])
    verified = json.loads(naysayer("verify", str(run), "--json").stdout)
    assert verified["chain_ok"] and verified["steps"] > 5
    from crawler.store import RunStore

    with RunStore.open(run) as store:
        last = store.trace().steps[-1]
    assert last.kind == "run_end" and last.data["reason"] == "interrupted"
