"""A stand-in for the Android SDK's `emulator` program, serving a simulated device instead of booting a VM.

    python -m emulator.sim.emulator_main -avd Pixel_6 -port 5560 -no-window -no-audio -no-boot-anim -read-only

It behaves as the real program does where naysayer can observe it: the same options (unknown ones refused with
"unknown option: -x", exit 1; `@NAME` = `-avd NAME`), AVD lookup in the same folders ("Unknown AVD name [x]"),
`-list-avds`, console on port N and adbd on N+1 (`-port N` with N in 5554..5680, `-ports C,A` for any
pair, else the first free pair from 5554),
registration with the adb server on ANDROID_ADB_SERVER_PORT (default 5037), sys.boot_completed empty while
"booting" and 1 after, one writable instance per AVD (a lock file; more need -read-only), the console (auth token in
~/.emulator_console_auth_token, created when missing), `-snapshot NAME` / `-no-snapshot-load` / Quick Boot from
default_boot. Logs go to stdout in the emulator's "LEVEL   | message" form.

The simulated device comes from the AVD's config.ini, with naysayer's own keys (a real emulator ignores them):
  naysayer.skin          permission-dialog skin (`naysayer sim skins`); default aosp-<version of the AVD's API>,
                         else aosp-13
  naysayer.locale        zh-CN or en-US (default en-US, as a fresh AVD)
  naysayer.apps          zoo (default: every zoo app), none, or a comma list of zoo app files/folders
  naysayer.boot_seconds  seconds of "booting" on a cold boot (default 2; a snapshot boot takes a quarter)
  naysayer.wedge_boots   the first N boots of this AVD never complete (default 0): a wedged emulator, for the
                         restart path; boots are counted in <avd>/naysayer-boots/
hw.lcd.width, hw.lcd.height and hw.lcd.density set the screen (default 720x1600, 320).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from emulator.avd import (
    FIRST_CONSOLE_PORT,
    LAST_CONSOLE_PORT,
    QUICK_BOOT_SNAPSHOT,
    Avd,
    NoFreePort,
    UnknownAvd,
    avds_from_files,
    find_avd,
    pick_ports,
)
from emulator.console import token_file
from emulator.sim.console_server import DATA_FILE, ConsoleServer, SnapshotStore

API_TO_SKIN = {28: "aosp-9", 29: "aosp-10", 30: "aosp-11", 31: "aosp-12", 32: "aosp-12", 33: "aosp-13", 34: "aosp-14"}
LOCK_FILE = "hardware-qemu.ini.lock"
VERSION = "Android emulator version 35.0.0.0 (naysayer simulator)"


class OptionError(Exception):
    """The command line is wrong: the message is what the real emulator prints; exit 1."""


@dataclass
class Options:
    flags: set[str] = field(default_factory=set)
    params: dict[str, str] = field(default_factory=dict)

    @property
    def avd(self) -> str | None:
        return self.params.get("avd")


def option_table() -> tuple[set[str], set[str]]:
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    return set(data["flags"]), set(data["params"])


def parse_options(argv: list[str]) -> Options:
    """The real parser's rules (android/cmdline-option.cpp): `@name`, `-flag`, `-param value`; everything after
    `-qemu` goes to QEMU (ignored here); an unknown option or a stray word ends in an error."""
    flags, params = option_table()
    options = Options()
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg.startswith("@"):
            options.params["avd"] = arg[1:]
            continue
        if arg == "-qemu":
            break
        if not arg.startswith("-") or len(arg) < 2:
            raise OptionError(f"invalid command-line parameter: {arg}.\nHint: use '@foo' to launch a virtual device "
                              "named 'foo'.\nplease use -help for more information")
        name = arg[1:]
        if name.startswith("help"):
            raise OptionError(f"{VERSION}\nusage: emulator -avd <name> [-port N] [-no-window] [-read-only] "
                              "[-snapshot NAME] ...")
        if name in flags and "_" not in name:
            options.flags.add(name)
        elif name in params and "_" not in name:
            if not args:
                raise OptionError(f"ERROR   | -{name} must be followed by parameter (see -help-{name})")
            options.params[name] = args.pop(0)
        else:
            raise OptionError(f"unknown option: {arg}\nplease use -help for a list of valid options")
    return options


def console_and_adb_ports(options: Options) -> tuple[int, int]:
    if "ports" in options.params:
        first, _, second = options.params["ports"].partition(",")
        if not (first.isdigit() and second.isdigit()) or first == second:
            raise OptionError(f"ERROR   | Failed to parse option: |{options.params['ports']}|. See -help-ports.")
        return int(first), int(second)
    if "port" in options.params:
        text = options.params["port"]
        if not text.isdigit() or not FIRST_CONSOLE_PORT <= int(text) <= LAST_CONSOLE_PORT:
            raise OptionError("ERROR   | option -port must be followed by an even integer number between "
                              f"{FIRST_CONSOLE_PORT} and {LAST_CONSOLE_PORT}")
        port = int(text)
        if port % 2:
            port -= 1
            info(f"option -port must be followed by an even integer, using  port number {port}", "WARNING")
        return port, port + 1
    try:
        port = pick_ports(1)[0]
    except NoFreePort:
        raise OptionError("ERROR   | it seems too many emulator instances are running on this machine. Aborting") from None
    return port, port + 1


@dataclass
class SimSettings:
    """What the AVD's config.ini says about the simulated device."""

    skin: str
    locale: str
    apps: str
    boot_seconds: float
    wedge_boots: int
    width: int
    height: int
    density: int

    @classmethod
    def from_avd(cls, avd: Avd) -> SimSettings:
        config = avd.config
        return cls(skin=config.get("naysayer.skin") or API_TO_SKIN.get(avd.api_level or 0, "aosp-13"),
                   locale=config.get("naysayer.locale", "en-US"), apps=config.get("naysayer.apps", "zoo"),
                   boot_seconds=float(config.get("naysayer.boot_seconds", "2")),
                   wedge_boots=int(config.get("naysayer.wedge_boots", "0")),
                   width=int(config.get("hw.lcd.width", "720")), height=int(config.get("hw.lcd.height", "1600")),
                   density=int(config.get("hw.lcd.density", "320")))

    def load_apps(self) -> list:
        if self.apps == "none":
            return []
        from emulator.zoo import load_zoo

        return load_zoo(None if self.apps == "zoo" else [p.strip() for p in self.apps.split(",") if p.strip()])


def count_boot(avd_dir: Path) -> int:
    """This boot's number for the AVD (1, 2, ...), claimed atomically so parallel instances never share one."""
    folder = avd_dir / "naysayer-boots"
    folder.mkdir(exist_ok=True)
    number = len(list(folder.iterdir())) + 1
    while True:
        try:
            os.close(os.open(folder / str(number), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return number
        except FileExistsError:
            number += 1


def take_lock(avd_dir: Path) -> Path:
    """A writable instance owns the AVD, as the real emulator's hardware-qemu.ini.lock does."""
    lock = avd_dir / LOCK_FILE
    try:
        holder = int(lock.read_text(encoding="ascii").strip("\0 \n") or 0)
    except (OSError, ValueError):
        holder = 0
    if holder and holder != os.getpid():
        try:
            os.kill(holder, 0)
            raise OptionError("ERROR   | Running multiple emulators with the same AVD is an experimental feature.\n"
                              "Please use -read-only flag to enable this feature.")
        except ProcessLookupError:
            pass
    lock.write_text(str(os.getpid()), encoding="ascii")
    return lock


def register_with_adb_server(adb_port: int) -> None:
    """host:emulator:<port> to the adb server on ANDROID_ADB_SERVER_PORT, as the emulator does; no server, no harm."""
    server_port = int(os.environ.get("ANDROID_ADB_SERVER_PORT") or 5037)
    request = f"host:emulator:{adb_port}".encode()
    try:
        with socket.create_connection(("127.0.0.1", server_port), timeout=2.0) as sock:
            sock.sendall(b"%04x" % len(request) + request)
    except OSError as exc:
        info(f"adb server on port {server_port} not reachable ({exc}); adb will find this emulator when it scans")


def info(message: str, level: str = "INFO") -> None:
    print(f"{level:<8}| {message}", flush=True)


def run(options: Options) -> int:
    if "version" in options.flags:
        print(VERSION)
        return 0
    if "list-avds" in options.flags:
        for avd in avds_from_files():
            print(avd.name)
        return 0
    if not options.avd:
        raise OptionError("ERROR   | No AVD specified. Use '@foo' or '-avd foo' to launch a virtual device named 'foo'")
    try:
        avd = find_avd(options.avd)
    except UnknownAvd:
        raise OptionError(f"ERROR   | Unknown AVD name [{options.avd}], use -list-avds to see valid list.") from None
    assert avd.path is not None
    console_port, adb_port = console_and_adb_ports(options)
    read_only = "read-only" in options.flags
    lock = None if read_only else take_lock(avd.path)
    try:
        settings = SimSettings.from_avd(avd)
    except ValueError as exc:
        raise OptionError(f"ERROR   | {avd.path / 'config.ini'}: a naysayer.* or hw.lcd.* value is wrong ({exc})") from None

    snapshot = None
    if "snapshot" in options.params:
        if options.params["snapshot"] in avd.snapshots():
            snapshot = options.params["snapshot"]
        else:
            info(f"Snapshot '{options.params['snapshot']}' does not exist: cold boot", "WARNING")
    elif not ({"no-snapshot-load", "no-snapshot"} & options.flags) and QUICK_BOOT_SNAPSHOT in avd.snapshots():
        snapshot = QUICK_BOOT_SNAPSHOT
    wedged = settings.wedge_boots > 0 and count_boot(avd.path) <= settings.wedge_boots

    from emulator.sim.adb import AdbDeviceServer
    from emulator.sim.device import SimDevice

    serial = f"emulator-{console_port}"
    storage = Path(tempfile.mkdtemp(prefix=f"naysayer-{serial}-"))
    device = SimDevice(serial, skin=settings.skin, locale=settings.locale, apps=settings.load_apps(),
                       storage_dir=storage, width=settings.width, height=settings.height, density=settings.density)
    device.set_serial(serial)
    with device.lock:
        device.system.properties.update({"sys.boot_completed": "", "dev.bootcomplete": "",
                                         "init.svc.bootanim": "running", "ro.boot.qemu.avd_name": avd.name})
    stop = threading.Event()
    adb = AdbDeviceServer(device, port=adb_port)
    console = ConsoleServer(console_port, avd.name, SnapshotStore(avd.path, read_only, loaded=snapshot),
                            token_file(), on_kill=stop.set)
    try:
        try:
            adb.start()
            console.start()
        except OSError as exc:
            info(f"cannot listen on console port {console_port} / adb port {adb_port}: {exc.strerror or exc}", "ERROR")
            return 1
        info(f"{VERSION}; AVD {avd.name}, console on port {console_port}, adb on port {adb_port}"
             + (f", snapshot {snapshot}" if snapshot else ", cold boot"))
        register_with_adb_server(adb_port)
        if not wedged:
            threading.Thread(target=finish_boot, args=(device, settings, snapshot, stop), daemon=True).start()
        else:
            info("this boot is set to wedge (naysayer.wedge_boots): sys.boot_completed stays empty", "WARNING")
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        info("Shutting down")
        return 0
    finally:
        console.stop()
        adb.stop()
        shutil.rmtree(storage, ignore_errors=True)
        if lock is not None:
            lock.unlink(missing_ok=True)


def finish_boot(device, settings: SimSettings, snapshot: str | None, stop: threading.Event) -> None:
    seconds = settings.boot_seconds / 4 if snapshot else settings.boot_seconds
    started = time.monotonic()
    if stop.wait(seconds):
        return
    with device.lock:
        device.system.properties.update({"sys.boot_completed": "1", "dev.bootcomplete": "1",
                                         "init.svc.bootanim": "stopped"})
    info(f"Boot completed in {int((time.monotonic() - started) * 1000)} ms")


def main(argv: list[str] | None = None) -> int:
    try:
        return run(parse_options(sys.argv[1:] if argv is None else argv))
    except OptionError as exc:
        print(exc, file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
