"""Android SDK emulators without a device: SDK discovery, AVD files, the emulator command line, ports, the simulated
emulator's option parser, and the console protocol (our client against the simulated emulator's console server)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from crawler.cli import main as naysayer
from emulator.avd import (
    LaunchOptions,
    NoFreePort,
    SdkNotFound,
    SnapshotNotFound,
    UnknownAvd,
    avds_from_files,
    emulator_command,
    find_avd,
    find_sdk,
    list_avds,
    pick_ports,
)
from emulator.console import ConsoleAuthError, ConsoleCommandError, EmulatorConsole, kill_emulator
from emulator.sim.console_server import ConsoleServer, SnapshotStore
from emulator.sim.emulator_main import OptionError, console_and_adb_ports, parse_options
from emulator.sim.fake_sdk import FakeAvd, add_avd, make_fake_sdk


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def fake_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    sdk, avd_home = make_fake_sdk(tmp_path, [FakeAvd("Pixel_6_API_33"), FakeAvd("Old_Phone", api=29)])
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ANDROID_HOME", str(sdk))
    monkeypatch.setenv("ANDROID_AVD_HOME", str(avd_home))
    for variable in ("ANDROID_SDK_ROOT", "ANDROID_USER_HOME", "ANDROID_SDK_HOME", "ANDROID_EMULATOR_HOME"):
        monkeypatch.delenv(variable, raising=False)
    return sdk, avd_home


# -- SDK and AVDs ----------------------------------------------------------------------------------------------------
def test_no_sdk_says_which_variable_to_set(tmp_path):
    with pytest.raises(SdkNotFound, match="set ANDROID_HOME"):
        find_sdk({"HOME": str(tmp_path)})


def test_an_sdk_without_the_emulator_names_the_missing_binary(tmp_path):
    with pytest.raises(SdkNotFound, match=r"no emulator at .*emulator/emulator"):
        find_sdk({"ANDROID_HOME": str(tmp_path)})
    with pytest.raises(SdkNotFound, match="no such folder"):
        find_sdk({"ANDROID_HOME": str(tmp_path / "missing")})


def test_android_sdk_root_is_used_when_android_home_is_unset(fake_sdk):
    sdk, _ = fake_sdk
    assert find_sdk({"ANDROID_SDK_ROOT": str(sdk)}).emulator == sdk / "emulator" / "emulator"


def test_avds_are_read_from_their_ini_files(fake_sdk):
    _, avd_home = fake_sdk
    (avd_home / "Pixel_6_API_33.avd" / "snapshots" / "default_boot").mkdir(parents=True)
    (avd_home / "Pixel_6_API_33.avd" / "snapshots" / "default_boot" / "snapshot.pb").write_bytes(b"x")
    (avd_home / "Pixel_6_API_33.avd" / "snapshots" / "half_written").mkdir()  # no snapshot.pb: not a snapshot
    (avd_home / "Gone.ini").write_text("path=/nowhere/Gone.avd\n")  # its folder was deleted
    avds = {a.name: a for a in avds_from_files()}
    assert sorted(avds) == ["Old_Phone", "Pixel_6_API_33"]
    assert avds["Pixel_6_API_33"].api_level == 33 and avds["Old_Phone"].api_level == 29
    assert avds["Pixel_6_API_33"].abi == "x86_64"
    assert avds["Pixel_6_API_33"].snapshots() == ["default_boot"]


def test_an_avd_found_by_its_relative_path(tmp_path):
    avd_home = tmp_path / ".android" / "avd"
    add_avd(avd_home, FakeAvd("Rel"))
    ini = avd_home / "Rel.ini"
    ini.write_text("path=/moved/away/Rel.avd\npath.rel=avd/Rel.avd\ntarget=android-34\n")
    avd = find_avd("Rel", {"HOME": str(tmp_path)})
    assert avd.path == avd_home / "Rel.avd" and avd.api_level == 34


def test_the_first_avd_folder_in_search_order_wins(tmp_path):
    first, second = tmp_path / "first", tmp_path / "user" / "avd"
    add_avd(first, FakeAvd("Same", api=30))
    add_avd(second, FakeAvd("Same", api=34))
    avd = find_avd("Same", {"ANDROID_AVD_HOME": str(first), "ANDROID_USER_HOME": str(tmp_path / "user"),
                            "HOME": str(tmp_path)})
    assert avd.api_level == 30


def test_android_sdk_home_is_the_folder_holding_dot_android(tmp_path):
    add_avd(tmp_path / "prefs" / ".android" / "avd", FakeAvd("Studio"))
    assert find_avd("Studio", {"ANDROID_SDK_HOME": str(tmp_path / "prefs"), "HOME": str(tmp_path)}).name == "Studio"
    assert find_avd("Studio", {"ANDROID_PREFS_ROOT": str(tmp_path / "prefs"), "HOME": str(tmp_path)}).name == "Studio"


def test_avds_come_from_one_folder_as_the_emulator_takes_them(tmp_path):
    add_avd(tmp_path / "custom", FakeAvd("Mine"))
    add_avd(tmp_path / ".android" / "avd", FakeAvd("Elsewhere"))  # the emulator would say "Unknown AVD name"
    env = {"ANDROID_AVD_HOME": str(tmp_path / "custom"), "HOME": str(tmp_path)}
    assert [a.name for a in avds_from_files(env)] == ["Mine"]
    with pytest.raises(UnknownAvd, match="'Elsewhere'"):
        find_avd("Elsewhere", env)


def test_an_unknown_avd_lists_the_known_ones(fake_sdk):
    with pytest.raises(UnknownAvd, match="'Nexus'.*Old_Phone, Pixel_6_API_33"):
        find_avd("Nexus")


def test_emulator_list_avds_agrees_with_the_files(fake_sdk):
    assert [a.name for a in list_avds(via="emulator")] == [a.name for a in list_avds(via="files")]


# -- the emulator command line ---------------------------------------------------------------------------------------
def test_a_headless_read_only_cold_boot_without_a_quick_boot_snapshot(fake_sdk):
    avd = find_avd("Pixel_6_API_33")
    command = emulator_command(find_sdk(), avd, 5560, LaunchOptions())
    assert command[1:] == ["-avd", "Pixel_6_API_33", "-port", "5560", "-no-window", "-no-audio", "-no-boot-anim",
                           "-read-only", "-no-snapshot-load"]


def test_a_console_port_outside_the_emulators_port_range_is_given_with_ports(fake_sdk):
    # the real emulator exits on `-port 40000` ("must be followed by an even integer number between 5554 and ...")
    command = emulator_command(find_sdk(), find_avd("Pixel_6_API_33"), 40000, LaunchOptions())
    assert "-port" not in command and command[command.index("-ports") + 1] == "40000,40001"
    with pytest.raises(OptionError, match="even integer number between 5554 and 5680"):
        console_and_adb_ports(parse_options(["-avd", "Pixel", "-port", "40000"]))
    assert console_and_adb_ports(parse_options(["-avd", "Pixel", "-ports", "40000,40001"])) == (40000, 40001)


def test_snapshots_decide_how_it_boots(fake_sdk):
    _, avd_home = fake_sdk
    for name in ("default_boot", "clean"):
        (avd_home / "Pixel_6_API_33.avd" / "snapshots" / name).mkdir(parents=True)
        (avd_home / "Pixel_6_API_33.avd" / "snapshots" / name / "snapshot.pb").write_bytes(b"x")
    sdk, avd = find_sdk(), find_avd("Pixel_6_API_33")
    quick = emulator_command(sdk, avd, 5560, LaunchOptions(read_only=False))
    assert "-no-snapshot-load" not in quick and "-read-only" not in quick  # Quick Boot from default_boot
    assert "-no-snapshot-load" in emulator_command(sdk, avd, 5560, LaunchOptions(cold=True))
    named = emulator_command(sdk, avd, 5560, LaunchOptions(snapshot="clean"))
    assert named[named.index("-snapshot") + 1] == "clean"
    with pytest.raises(SnapshotNotFound, match="no snapshot 'dirty'.*clean, default_boot"):
        emulator_command(sdk, avd, 5560, LaunchOptions(snapshot="dirty"))


def test_ports_are_even_pairs_that_are_free():
    with pytest.raises(NoFreePort, match="must be even"):
        pick_ports(1, first=5555)
    first = free_port() // 2 * 2
    if first > 60000:
        first = 40000
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", first + 1))  # the adb port of the first pair is taken
        ports = pick_ports(2, first=first, taken={first + 2})
    assert first not in ports and first + 2 not in ports
    assert all(p % 2 == 0 for p in ports)


# -- the simulated emulator's command line (the real parser's rules) -------------------------------------------------
def test_the_simulated_emulator_parses_options_like_the_real_one():
    options = parse_options(["@Pixel", "-port", "5560", "-no-window", "-read-only", "-qemu", "-whatever"])
    assert options.avd == "Pixel" and options.params["port"] == "5560"
    assert {"no-window", "read-only"} <= options.flags
    with pytest.raises(OptionError, match="unknown option: -no-such-thing"):
        parse_options(["-avd", "Pixel", "-no-such-thing"])
    with pytest.raises(OptionError, match="-port must be followed by parameter"):
        parse_options(["-avd", "Pixel", "-port"])
    with pytest.raises(OptionError, match="invalid command-line parameter: Pixel"):
        parse_options(["Pixel"])


# -- the console protocol --------------------------------------------------------------------------------------------
@pytest.fixture
def console_server(tmp_path: Path):
    """A simulated emulator's console (no device behind it) with a known token."""
    token = tmp_path / ".emulator_console_auth_token"
    token.write_text("s3cret-token\n")
    killed = threading.Event()
    avd_dir = tmp_path / "Pixel.avd"
    avd_dir.mkdir()
    server = ConsoleServer(free_port(), "Pixel", SnapshotStore(avd_dir, read_only=False), token, killed.set)
    server.start()
    yield server, token, killed
    server.stop()


def test_the_console_asks_for_the_token_and_accepts_it(console_server):
    server, token, _ = console_server
    with EmulatorConsole(server.port, token_path=token) as console:
        assert "Authentication required" in console.banner
        assert str(token) in console.banner
        assert console.command("avd name") == "Pixel"
        assert console.command("ping") == "I am alive!"


def test_a_wrong_token_is_refused(console_server, tmp_path):
    server, _, _ = console_server
    wrong = tmp_path / "wrong"
    wrong.write_text("guess")
    with pytest.raises(ConsoleAuthError, match="does not match"):
        EmulatorConsole(server.port, token_path=wrong).connect()


def test_before_auth_only_a_few_commands_work(console_server):
    server, _, _ = console_server
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        reader = sock.makefile("rb")
        while reader.readline() != b"OK\r\n":
            pass
        sock.sendall(b"avd name\nsensor get acceleration\n")
        assert reader.readline() == b"Pixel\r\n" and reader.readline() == b"OK\r\n"
        assert reader.readline() == b"KO: unknown command, try 'help'\r\n"


def test_console_commands_answer_ok_or_ko(console_server):
    server, token, _ = console_server
    with EmulatorConsole(server.port, token_path=token) as console:
        console.command("sensor set acceleration 0.5:9.5:1")
        assert console.command("sensor get acceleration") == "acceleration = 0.5:9.5:1"
        with pytest.raises(ConsoleCommandError, match="unknown command, try 'help'"):
            console.command("make coffee")
        with pytest.raises(ConsoleCommandError, match="unknown sensor name: smell"):
            console.command("sensor set smell 1")
        console.command("avd snapshot save clean")
        console.command("avd snapshot load clean")
        assert console.command("avd snapshot get") == "clean"
        assert "clean" in console.command("avd snapshot list")
        with pytest.raises(ConsoleCommandError, match="does not exist"):
            console.command("avd snapshot load dirty")
        with pytest.raises(ConsoleCommandError, match="invalid snapshot name"):
            console.command("avd snapshot save ../../escape")
        with pytest.raises(ConsoleCommandError, match="missing sub-command"):
            console.command("avd snapshot")


def test_a_command_cannot_smuggle_a_second_line(console_server):
    server, token, _ = console_server
    with EmulatorConsole(server.port, token_path=token) as console, pytest.raises(Exception, match="one line"):
        console.command("avd name\nkill")


def test_an_overlong_line_is_dropped_whole_and_its_tail_never_runs(console_server):
    server, _, killed = console_server
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        reader = sock.makefile("rb")
        while reader.readline() != b"OK\r\n":
            pass
        sock.sendall(b"x" * 5000 + b" avd name\n" + b"y" * 4095 + b"quit\nping\n")
        assert reader.readline() == b"I am alive!\r\n" and reader.readline() == b"OK\r\n"
    assert not killed.is_set()


def test_read_only_disables_snapshot_load(tmp_path):
    store = SnapshotStore(tmp_path, read_only=True)
    with pytest.raises(Exception, match='disabled because "-read-only"'):
        store.load("clean")


def test_kill_says_goodbye_then_stops_the_emulator(console_server):
    server, token, killed = console_server
    kill_emulator(server.port, token_path=token)
    assert killed.wait(5)


def test_an_empty_token_file_turns_auth_off(console_server):
    server, token, _ = console_server
    server.stop()
    token.write_text("")
    open_server = ConsoleServer(free_port(), "Pixel", server.snapshots, token, lambda: None)
    open_server.start()
    try:
        with EmulatorConsole(open_server.port, token_path=token) as console:
            assert "Authentication required" not in console.banner
            assert console.command("avd status") == "virtual device is running"
    finally:
        open_server.stop()


def test_a_missing_token_file_is_created(tmp_path):
    token = tmp_path / "home" / ".emulator_console_auth_token"
    server = ConsoleServer(free_port(), "Pixel", SnapshotStore(tmp_path, True), token, lambda: None)
    server.start()
    server.stop()
    assert len(token.read_text()) == 16 and oct(token.stat().st_mode)[-3:] == "600"


# -- the command line ------------------------------------------------------------------------------------------------
def test_starting_without_an_sdk_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ANDROID_HOME", raising=False)
    monkeypatch.delenv("ANDROID_SDK_ROOT", raising=False)
    assert naysayer(["emulator", "start", "Pixel"]) == 2
    err = capsys.readouterr().err
    assert "no Android SDK" in err and "Traceback" not in err


def test_emulator_list_json(fake_sdk, capsys):
    import json

    assert naysayer(["emulator", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["api"]) for r in rows] == [("Old_Phone", 29), ("Pixel_6_API_33", 33)]
