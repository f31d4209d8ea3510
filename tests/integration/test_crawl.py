"""Crawls of zoo apps on simulated devices through the real adb server, adbutils and uiautomator2: the trace must
show what the crawler saw and did, in order, with device time."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.crawl import crawl_app
from crawler.device import AndroidDevice, DeviceError
from crawler.graph import build_graph
from crawler.store import RunStore
from crawler.wire import FastAdbClient
from emulator.sim.device import SimDevice
from emulator.zoo import load_zoo

ZOO = {app.manifest.package: app for app in load_zoo()}
WEATHER = "com.example.qingtian.weather"  # asks location at launch, quits 1 s after a denial
NEWS_EXIT = "com.example.kuaibao.news"  # refusing consent (twice) closes the app
POLITE = "com.example.scanly"  # asks camera only from its scan button, with a purpose text


@pytest.fixture
def sim(serve_device, adb_server, tmp_path):
    """A simulated phone with the whole zoo installed, and our device object on it."""

    def make(skin: str = "aosp-13", locale: str = "zh-CN"):
        backend = SimDevice("sim", skin=skin, locale=locale, apps=list(ZOO.values()), storage_dir=tmp_path / "dev")
        registered = serve_device(backend)
        backend.set_serial(registered.serial)
        device = AndroidDevice(registered.serial, FastAdbClient(port=adb_server.port))
        device.unplug = registered.stop  # what pulling the cable does: the transport goes away
        return backend, device

    return make


def crawl(device: AndroidDevice, package: str, out: Path, **options) -> RunStore:
    options = {"budget": 120.0, "idle": 0.0, "ocr": False, "progress": False, **options}
    run, reason, detail = crawl_app(serial=device.serial, package=package, out=out, device=device, **options)
    assert reason in ("done", "budget", "steps"), detail
    return RunStore.open(run)


def steps_of(trace, kind, **match):
    return [s for s in trace.of(kind) if all(s.data.get(k) == v for k, v in match.items())]


def test_denied_permission_is_watched_and_the_exit_recorded(sim, tmp_path):
    _, device = sim()
    with crawl(device, WEATHER, tmp_path) as store:
        trace = store.trace()
    dialogs = [s for s in trace.of("observation") if s.data["scene"]["kind"] == "permission_dialog"]
    assert dialogs and dialogs[0].data["scene"]["permission"] == "location"
    assert dialogs[0].data["package"] == "com.android.permissioncontroller"
    denial = next(s for s in trace.of("action") if s.data.get("role") == "deny")
    assert denial.data["permission"] == "location" and denial.seq > dialogs[0].seq
    # The app's exit comes from the device's own records, within the quit window, before we act again.
    deaths = [s for s in trace.after(denial.seq) if s.kind == "event" and s.data["type"] in ("proc_died", "app_died")]
    assert deaths and 0 < deaths[0].t - denial.t <= 10
    next_action = next(s for s in trace.after(denial.seq) if s.kind == "action")
    assert next_action.seq > deaths[0].seq and next_action.data["type"] == "launch" and next_action.data["cold"]
    # Relaunched cold, it asks again; the second time the crawler says "don't ask again" where offered,
    # after which the system suppresses the dialog (USER_FIXED) and the app is denied silently.
    roles = [s.data["role"] for s in trace.of("action") if s.data.get("scene") == "permission_dialog"]
    assert roles[:2] == ["deny", "deny_dont_ask"] or roles[:2] == ["deny", "deny"]
    fixed = [s for s in trace.of("permissions")
             if "USER_FIXED" in s.data["permissions"].get("android.permission.ACCESS_FINE_LOCATION", {}).get("flags", [])]
    assert fixed
    requests = [s for s in trace.of("event") if s.data["type"] == "permission_request"]
    assert len(requests) > len(dialogs) - 1  # every request is on record, the suppressed ones too
    assert trace.steps[-1].kind == "run_end"


def test_consent_refused_then_accepted_after_the_app_closed(sim, tmp_path):
    _, device = sim()
    with crawl(device, NEWS_EXIT, tmp_path) as store:
        trace = store.trace()
    consent_actions = [s for s in trace.of("action") if s.data.get("scene") == "consent_dialog"]
    roles = [s.data["role"] for s in consent_actions]
    assert roles[0] == "refuse"
    refused_until_exit = roles.index("accept") if "accept" in roles else -1
    assert refused_until_exit > 0, roles
    exit_seq = next(s.seq for s in trace.of("recovery") if s.data["type"] in ("died", "left_app"))
    accept = consent_actions[refused_until_exit]
    assert accept.seq > exit_seq
    launches = [s for s in trace.of("action") if s.data["type"] == "launch"]
    assert len(launches) >= 2 and launches[1].seq < accept.seq
    # After accepting, the rest of the app is explored.
    assert any(s.data.get("reason", "").startswith("explore") for s in trace.after(accept.seq) if s.kind == "action")


def test_graph_of_a_crawl_has_the_states_and_transitions(sim, tmp_path):
    _, device = sim()
    with crawl(device, POLITE, tmp_path) as store:
        trace = store.trace()
    graph = build_graph(trace)
    kinds = {data.get("scene") for _, data in graph.nodes(data=True)}
    assert "app" in kinds
    assert graph.number_of_nodes() >= 3 and graph.number_of_edges() >= 3
    assert all(data.get("png") or data.get("screenshot") for _, data in graph.nodes(data=True) if data.get("scene") == "app")


def test_polite_app_keeps_working_after_denial(sim, tmp_path):
    _, device = sim(skin="aosp-11", locale="en-US")
    with crawl(device, POLITE, tmp_path) as store:
        trace = store.trace()
    denials = [s for s in trace.of("action") if s.data.get("role") in ("deny", "deny_dont_ask")]
    assert denials, "the scan button's camera request was seen and denied"
    for denial in denials:  # within the watch window after each denial the app stays in front and alive
        watched = [s for s in trace.after(denial.seq) if s.t - denial.t <= 10][:50]
        assert not [s for s in watched if s.kind == "event" and s.data["type"] in ("proc_died", "app_died", "crash")]
        assert all(s.data["app_in_front"] for s in watched if s.kind == "observation")


def test_black_secure_screenshot_is_noted_and_the_crawl_goes_on(sim, tmp_path):
    _, device = sim(locale="en-US")
    with crawl(device, "com.example.harbor.bank", tmp_path) as store:
        trace = store.trace()
        blank = [s for s in trace.of("observation") if s.data["screen_blank"]]
        assert blank, "the secure login screen was reached"
        assert all(s.data["activity"].endswith("LoginActivity") for s in blank)
        assert all(s.data["scene"]["kind"] == "app" and s.data["scene"]["text"] for s in blank)  # read from the tree
        from crawler.perceive.vision import decode, is_blank

        assert is_blank(decode(store.blob(blank[0].data["png"]))) and store.verify().ok
    assert trace.steps[-1].data["reason"] in ("done", "budget")


def test_truncated_hierarchy_is_recorded_and_retried(sim, tmp_path):
    backend, device = sim()
    backend.inject_fault("hierarchy", "truncated", times=2)
    with crawl(device, WEATHER, tmp_path) as store:
        trace = store.trace()
    bad = list(trace.of("recovery"))
    assert [s.data["type"] for s in bad[:2]] == ["bad_hierarchy", "bad_hierarchy"]
    assert any(s.data["scene"]["kind"] == "permission_dialog" for s in trace.of("observation"))


def test_a_hierarchy_that_stays_unusable_ends_the_run_with_the_reason(sim, tmp_path):
    backend, device = sim()
    backend.inject_fault("hierarchy", "truncated", times=50)
    run, reason, detail = crawl_app(serial=device.serial, package=WEATHER, out=tmp_path / "runs", device=device,
                                    progress=False, ocr=False, budget=30.0, idle=0.0)
    assert reason == "error" and "hierarchy" in detail
    with RunStore.open(run) as store:
        assert store.trace().steps[-1].data["reason"] == "error"


def test_unknown_serial_and_missing_package_are_one_line_errors(sim, adb_server, tmp_path):
    _, device = sim()
    with pytest.raises(DeviceError, match="no such device"):
        AndroidDevice("emulator-1", FastAdbClient(port=adb_server.port))
    with pytest.raises(DeviceError, match="not installed"):
        crawl_app(serial=device.serial, package="com.absent.app", out=tmp_path / "runs", device=device,
                  progress=False, ocr=False)
    assert not (tmp_path / "runs").exists(), "no run is created for a user error found before the crawl"


def test_unauthorized_device_is_reported(serve_device, adb_server, tmp_path):
    backend = SimDevice("sim", apps=[], storage_dir=tmp_path / "dev", unauthorized=True)
    registered = serve_device(backend, states=("unauthorized",))
    with pytest.raises(DeviceError, match="unauthorized"):
        AndroidDevice(registered.serial, FastAdbClient(port=adb_server.port))


def test_offline_device_is_reported(serve_device, adb_server, tmp_path):
    backend = SimDevice("sim", apps=[], storage_dir=tmp_path / "dev")
    backend.offline = True
    registered = serve_device(backend, states=("offline",))
    with pytest.raises(DeviceError, match="device is offline"):
        AndroidDevice(registered.serial, FastAdbClient(port=adb_server.port))


def test_device_lost_mid_crawl_keeps_the_run(sim, tmp_path):
    _, device = sim()

    original = device.wait
    calls = {"n": 0}

    def wait_then_unplug(seconds):
        calls["n"] += 1
        if calls["n"] == 6:
            device.unplug()  # the phone is unplugged in the middle of the crawl
        return original(seconds)

    device.wait = wait_then_unplug
    run, reason, detail = crawl_app(serial=device.serial, package=WEATHER, out=tmp_path, device=device,
                                    progress=False, ocr=False, budget=60.0, idle=0.0)
    assert reason == "device_lost", detail
    with RunStore.open(run) as store:
        trace = store.trace()
        assert store.verify().ok
    assert trace.steps[0].kind == "run_start" and trace.steps[-1].kind == "run_end"
    assert trace.steps[-1].data["reason"] == "device_lost"
    assert any(s.kind == "observation" for s in trace.steps)


def test_crash_after_refusal_is_recorded_and_the_app_relaunched(sim, tmp_path):
    _, device = sim()
    with crawl(device, "com.example.saoyisao.qrcode", tmp_path) as store:
        trace = store.trace()
    denial = next(s for s in trace.of("action") if s.data.get("role") == "deny")
    crash = next(s for s in trace.after(denial.seq) if s.kind == "event" and s.data["type"] == "crash")
    assert "SecurityException" in crash.data["raw"]
    recovery = next(s for s in trace.after(crash.seq) if s.kind == "recovery")
    assert recovery.data["type"] == "crashed"
    closing = next(s for s in trace.after(recovery.seq) if s.kind == "action")
    assert closing.data["scene"] == "system_dialog" and closing.data["role"] in ("close_app", "ok")
    assert any(s.data["type"] == "launch" for s in trace.after(closing.seq) if s.kind == "action")


def test_device_reports_its_screen_size(sim):
    _, device = sim()
    assert device.screen_size() == (720, 1600)


def test_the_same_crawl_twice_gives_the_same_trace(sim, tmp_path):
    """Virtual time and deterministic apps: two fresh devices, the same app, identical traces (screenshots included)."""
    traces = []
    for attempt in range(2):
        _, device = sim()
        with crawl(device, "com.example.haowu.shop", tmp_path / f"run{attempt}", budget=60.0) as store:
            traces.append([(s.kind, s.t, s.data) for s in store.trace().steps if s.kind != "run_start"])
    assert len(traces[0]) > 30 and traces[0] == traces[1]
