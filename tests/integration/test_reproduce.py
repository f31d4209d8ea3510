"""`naysayer reproduce` as a user runs it, on simulated devices through the real adb: crawl a zoo app, pick a finding,
replay the way to it on a fresh app state, and get the verdict; a fixed app is "not reproduced"; bad input is one
line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from crawler.store import RunStore
from emulator.sim.device import SimDevice
from emulator.zoo import build_sim_apk, load_zoo
from tests.cli_runner import naysayer, one_line_error

REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "emulator" / "zoo" / "apps"
WEATHER = "com.example.qingtian.weather"  # quits 1 s after the location denial; asks again on every cold launch
STEPUP = "com.example.stepup"  # asks for activity recognition again each time its Today tab is shown


def serve_sim(adb_server, storage: Path, *files: str):
    from emulator.sim.adb_server import serve_backend

    backend = SimDevice("sim", skin="aosp-13", apps=load_zoo([APPS / f for f in files]), storage_dir=storage)
    registered = serve_backend(adb_server.client, backend)
    backend.set_serial(registered.serial)
    return registered


def crawl(serial: str, package: str, out: Path) -> Path:
    result = naysayer("crawl", "--device", serial, "--app", package, "--budget", "40s", "--idle", "0", "--no-ocr",
                      "--quiet", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    return Path(result.stdout.strip().splitlines()[-1])


def finding_of(run: Path, kind: str) -> dict:
    with RunStore.open(run) as store:
        found = [f for f in store.findings() if f["kind"] == kind]
    assert found, f"the crawl of {run.name} found no {kind}"
    return found[0]


def run_start(run: Path) -> dict:
    with RunStore.open(run) as store:
        return store.trace().start


@pytest.fixture(scope="module")
def phone(adb_server, tmp_path_factory):
    registered = serve_sim(adb_server, tmp_path_factory.mktemp("dev"), "weather_quit.yaml", "fitness_reprompt.yaml")
    yield registered.serial
    registered.stop()


@pytest.fixture(scope="module")
def weather_run(phone, tmp_path_factory) -> Path:
    return crawl(phone, WEATHER, tmp_path_factory.mktemp("runs"))


def test_a_quit_on_refusal_is_reproduced_in_every_run_and_linked_to_the_original(phone, weather_run, tmp_path):
    quit = finding_of(weather_run, "quit_on_refusal")
    result = naysayer("reproduce", str(weather_run), quit["id"], "--device", phone, "--runs", "2", "--no-ocr",
                      "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "reproduced 2/2 (100%)"
    assert "run 1/2: reproduced" in result.stderr and "run 2/2: reproduced" in result.stderr
    new_runs = [Path(line) for line in lines[:-1]]
    assert len(new_runs) == 2 and all(run.parent == tmp_path for run in new_runs)
    for attempt, run in enumerate(new_runs, 1):
        link = run_start(run)["reproduces"]
        assert link["run"] == weather_run.name and link["finding"] == quit["id"] and link["attempt"] == attempt
        again = finding_of(run, "quit_on_refusal")
        assert again["metrics"]["permission"] == "location" and again["metrics"]["exit_type"] == "died"
        assert naysayer("verify", str(run)).returncode == 0


def test_a_reprompt_is_reproduced_with_the_refusals_before_it(phone, tmp_path):
    run = crawl(phone, STEPUP, tmp_path / "runs")
    reprompt = finding_of(run, "reprompt_after_refusal")
    result = naysayer("reproduce", str(run), reprompt["id"], "--device", phone, "--no-ocr", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["verdict"] == "reproduced 1/1 (100%)" and report["rate"] == 1.0
    assert report["original"]["finding"] == reprompt["id"]
    new_run = Path(report["runs"][0]["run"])
    assert new_run.parent == run.parent  # beside the original by default
    again = finding_of(new_run, "reprompt_after_refusal")
    assert again["metrics"]["permission"] == "activity_recognition"
    # the replay went straight to the finding: far fewer actions than the exploring crawl that found it
    with RunStore.open(new_run) as store, RunStore.open(run) as original:
        replayed = [s for s in store.trace().of("action") if s.data.get("by") == "strategy" and s.data["type"] != "wait"]
        explored = [s for s in original.trace().of("action") if s.data.get("by") == "strategy"]
    assert {s.data.get("role") for s in replayed} >= {"deny"} and len(replayed) < len(explored)


def test_a_finding_of_an_app_that_was_fixed_is_not_reproduced(adb_server, tmp_path):
    from crawler.device import AndroidDevice

    registered = serve_sim(adb_server, tmp_path / "dev", "weather_quit.yaml")
    try:
        run = crawl(registered.serial, WEATHER, tmp_path / "runs")
        quit = finding_of(run, "quit_on_refusal")
        # the fixed version: same package, says it cannot locate you, and stays open
        model = yaml.safe_load((APPS / "weather_quit.yaml").read_text(encoding="utf-8"))
        model["app"]["version_name"], model["app"]["version_code"] = "5.2.2", 522
        request = model["screens"]["home"]["on_enter"][0]["else"][0]
        request["on_denied"] = [{"toast": "定位失败，请手动选择城市"}]
        fixed = tmp_path / "weather_fixed.yaml"
        fixed.write_text(yaml.safe_dump(model, allow_unicode=True, sort_keys=False), encoding="utf-8")
        AndroidDevice(registered.serial).install(build_sim_apk(fixed, tmp_path / "weather_fixed.apk"))

        result = naysayer("reproduce", str(run), quit["id"], "--device", registered.serial, "--no-ocr", "--json")
        assert result.returncode == 1, result.stderr[-2000:]
        report = json.loads(result.stdout)
        assert report["verdict"] == "not reproduced 0/1" and report["runs"][0]["app_version"] == "5.2.2"
        with RunStore.open(Path(report["runs"][0]["run"])) as store:
            assert "quit_on_refusal" not in {f["kind"] for f in store.findings()}
            denied = [s for s in store.trace().of("action") if s.data.get("role") == "deny"]
        assert denied and denied[0].data["permission"] == "location"  # the trigger was replayed; the app stayed
    finally:
        registered.stop()


def test_bad_input_is_one_clear_line(phone, weather_run, tmp_path):
    with RunStore.create(tmp_path, "clean-run", package=WEATHER) as store:
        store.append("run_start", 1.0, {"app": {"package": WEATHER}})
    one_line_error(naysayer("reproduce", str(tmp_path / "clean-run"), "quit_on_refusal-1", "--device", phone),
                   "clean-run", "no findings")
    one_line_error(naysayer("reproduce", str(weather_run), "quit_on_refusal-99999", "--device", phone),
                   "no finding 'quit_on_refusal-99999'", "quit_on_refusal-")
    one_line_error(naysayer("reproduce", str(tmp_path / "nothing-here"), "x-1", "--device", phone), "not a naysayer run")
    one_line_error(naysayer("reproduce", str(weather_run), finding_of(weather_run, "quit_on_refusal")["id"],
                            "--device", "emulator-1"), "emulator-1", "no such device")
