"""Android SDK emulators: find the SDK and the AVDs, start headless emulators, wait for boot, restart wedged ones,
stop them through their console.

Facts this follows (the real emulator's): `$SDK/emulator/emulator -avd NAME -port N` serves the console on port N
(even, 5554..5680; `-ports N,N+1` outside) and adbd on N+1; adb calls it emulator-N. AVDs are NAME.ini + NAME.avd/config.ini in one
folder, chosen as the emulator chooses it (avd_dirs). Snapshots are folders NAME.avd/snapshots/<snapshot>/ with a
snapshot.pb; `default_boot` is Quick Boot's.
Several instances of one AVD need -read-only. The emulator registers with the adb server (host:emulator:<adb port>)
on ANDROID_ADB_SERVER_PORT; we register too when the server has not seen it, which is harmless twice.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import adbutils

from crawler.errors import UserError
from emulator.console import ConsoleError, kill_emulator

log = logging.getLogger(__name__)

FIRST_CONSOLE_PORT = 5554
LAST_CONSOLE_PORT = 5680  # 5554 + 2 * (MAX_ANDROID_EMULATORS 64 - 1): what `-port` accepts on a current emulator
PORT_OPTION_LAST = 5584  # older emulators (MAX_ANDROID_EMULATORS 16) refuse `-port` above this; `-ports C,A` has no range
QUICK_BOOT_SNAPSHOT = "default_boot"
SNAPSHOT_MARKER = "snapshot.pb"
MAX_INI_BYTES = 1 << 20
AVD_NAME = re.compile(r"[A-Za-z0-9._-]{1,128}")
SERIAL = re.compile(r"emulator-(\d{1,5})")


class AvdError(UserError):
    """Base of the emulator errors a user can act on."""


class SdkNotFound(AvdError):
    """No Android SDK, or one without the emulator."""


class UnknownAvd(AvdError):
    """No AVD of that name."""


class SnapshotNotFound(AvdError):
    """The AVD has no snapshot of that name."""


class NoFreePort(AvdError):
    """No free console/adb port pair."""


class EmulatorFailed(AvdError):
    """An emulator exited, or did not boot after its restarts."""


class EmulatorNotRunning(AvdError):
    """Nothing to stop at that serial."""


# -- SDK and AVDs ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sdk:
    root: Path
    emulator: Path


def find_sdk(env: Mapping[str, str] | None = None) -> Sdk:
    """The SDK in ANDROID_HOME, else ANDROID_SDK_ROOT (its older name), with its emulator/emulator binary."""
    env = os.environ if env is None else env
    for variable in ("ANDROID_HOME", "ANDROID_SDK_ROOT"):
        value = env.get(variable)
        if not value:
            continue
        root = Path(value).expanduser()
        if not root.is_dir():
            raise SdkNotFound(f"{variable}={value}: no such folder")
        binary = root / "emulator" / "emulator"
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            raise SdkNotFound(f"{variable}={value}: no emulator at {binary} (install it with "
                              "`sdkmanager emulator`, or make a simulated SDK with `naysayer emulator fake-sdk DIR`)")
        return Sdk(root, binary)
    raise SdkNotFound("no Android SDK: set ANDROID_HOME to the SDK folder (or make a simulated one with "
                      "`naysayer emulator fake-sdk DIR`)")


def avd_dirs(env: Mapping[str, str] | None = None) -> list[Path]:
    """The one folder the emulator takes AVDs from (android/emulation/ConfigDirs.cpp), as a list of none or one: the
    first that exists of $ANDROID_AVD_HOME; $ANDROID_PREFS_ROOT and $ANDROID_SDK_HOME (each the folder *holding*
    .android: X/avd, else X/.android/avd); $ANDROID_USER_HOME/avd (Android Studio's); ~/.android/avd;
    $ANDROID_EMULATOR_HOME/avd. Folders are never merged: an AVD in a later one is one the emulator cannot start."""
    env = os.environ if env is None else env
    candidates: list[Path] = []
    if env.get("ANDROID_AVD_HOME"):
        candidates.append(Path(env["ANDROID_AVD_HOME"]))
    for variable in ("ANDROID_PREFS_ROOT", "ANDROID_SDK_HOME"):
        if env.get(variable):
            candidates += [Path(env[variable]) / "avd", Path(env[variable]) / ".android" / "avd"]
    if env.get("ANDROID_USER_HOME"):
        candidates.append(Path(env["ANDROID_USER_HOME"]) / "avd")
    candidates.append(Path(env.get("HOME") or str(Path.home())) / ".android" / "avd")
    if env.get("ANDROID_EMULATOR_HOME"):
        candidates.append(Path(env["ANDROID_EMULATOR_HOME"]) / "avd")
    found = next((path.expanduser() for path in candidates if path.expanduser().is_dir()), None)
    return [found] if found is not None else []


def read_ini(path: Path) -> dict[str, str]:
    """key=value lines (AVD .ini and config.ini); '#' comments; bounded, never executed."""
    with path.open("rb") as handle:
        data = handle.read(MAX_INI_BYTES)
    values: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip()
    return values


@dataclass(frozen=True)
class Avd:
    name: str
    ini: Path | None
    path: Path | None  # the NAME.avd folder
    config: dict[str, str] = field(default_factory=dict)
    target: str = ""

    @property
    def api_level(self) -> int | None:
        for text in (self.target, self.config.get("image.sysdir.1", "")):
            match = re.search(r"android-(\d+)", text)
            if match:
                return int(match.group(1))
        return None

    @property
    def abi(self) -> str:
        return self.config.get("abi.type", "")

    def snapshots(self) -> list[str]:
        root = self.path / "snapshots" if self.path else None
        if root is None or not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if (p / SNAPSHOT_MARKER).is_file())


def read_avd(ini: Path) -> Avd | None:
    """An AVD from its NAME.ini: `path` (absolute), else `path.rel` (from the folder above the AVD home), else the
    NAME.avd folder beside it. None when the folder is missing (a half-deleted AVD)."""
    values = read_ini(ini)
    name = ini.stem
    candidates = [Path(values["path"])] if values.get("path") else []
    if values.get("path.rel"):
        candidates.append(ini.parent.parent / values["path.rel"])
    candidates.append(ini.with_suffix(".avd"))
    folder = next((c for c in candidates if c.is_dir()), None)
    if folder is None:
        log.warning("AVD %s: its folder is missing (%s)", name, ", ".join(map(str, candidates)))
        return None
    config = read_ini(folder / "config.ini") if (folder / "config.ini").is_file() else {}
    return Avd(name=name, ini=ini, path=folder, config=config, target=values.get("target", ""))


def avds_from_files(env: Mapping[str, str] | None = None) -> list[Avd]:
    found: dict[str, Avd] = {}
    for folder in avd_dirs(env):
        for ini in sorted(folder.glob("*.ini")):
            if ini.stem not in found and (avd := read_avd(ini)) is not None:
                found[ini.stem] = avd
    return sorted(found.values(), key=lambda a: a.name)


def avd_names_from_emulator(sdk: Sdk, env: Mapping[str, str] | None = None, timeout: float = 60.0) -> list[str]:
    """What `emulator -list-avds` prints: one name per line (newer emulators may add INFO/WARNING lines)."""
    result = subprocess.run([str(sdk.emulator), "-list-avds"], capture_output=True, timeout=timeout, check=False,
                            stdin=subprocess.DEVNULL, env=dict(os.environ if env is None else env))
    if result.returncode != 0:
        raise EmulatorFailed(f"{sdk.emulator} -list-avds failed: {last_line(result.stderr or result.stdout)}")
    lines = result.stdout.decode("utf-8", "replace").splitlines()
    return [line.strip() for line in lines if AVD_NAME.fullmatch(line.strip())]


def list_avds(sdk: Sdk | None = None, env: Mapping[str, str] | None = None, via: str = "files") -> list[Avd]:
    """AVDs read from the ini files (`via="files"`), or the ones `emulator -list-avds` names, with their files."""
    on_disk = avds_from_files(env)
    if via == "files":
        return on_disk
    by_name = {avd.name: avd for avd in on_disk}
    names = avd_names_from_emulator(sdk or find_sdk(env), env)
    return [by_name.get(name, Avd(name=name, ini=None, path=None)) for name in names]


def find_avd(name: str, env: Mapping[str, str] | None = None) -> Avd:
    avds = avds_from_files(env)
    for avd in avds:
        if avd.name == name:
            return avd
    where = ", ".join(str(d) for d in avd_dirs(env)) or "no AVD folder exists"
    known = ", ".join(a.name for a in avds) or "none"
    raise UnknownAvd(f"no AVD named {name!r} (searched {where}; AVDs: {known})")


# -- ports -----------------------------------------------------------------------------------------------------------
def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_ports(count: int, first: int | None = None, taken: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """`count` even console ports from `first` (default 5554), each with its adb port (port+1) free."""
    start = FIRST_CONSOLE_PORT if first is None else first
    if start % 2 or not 1024 < start < 65534:
        raise NoFreePort(f"--port {start}: the console port must be even, between 1026 and 65532")
    last = LAST_CONSOLE_PORT if first is None else min(65532, start + 2 * (count + 63))
    ports: list[int] = []
    for port in range(start, last + 1, 2):
        if port not in taken and port_is_free(port) and port_is_free(port + 1):
            ports.append(port)
            if len(ports) == count:
                return ports
    raise NoFreePort(f"no {count} free console/adb port pair(s) in {start}..{last + 1}")


# -- launching -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LaunchOptions:
    snapshot: str | None = None  # boot from this snapshot (it must exist)
    cold: bool = False  # never load a snapshot
    read_only: bool = True  # several instances of one AVD; no snapshot saves
    extra_args: tuple[str, ...] = ()


def emulator_command(sdk: Sdk, avd: Avd, port: int, options: LaunchOptions) -> list[str]:
    # the emulator exits with "option -port must be followed by an even integer number between 5554 and ..." for a
    # port outside its range; -ports takes any pair
    where = ["-port", str(port)] if FIRST_CONSOLE_PORT <= port <= PORT_OPTION_LAST else ["-ports", f"{port},{port + 1}"]
    command = [str(sdk.emulator), "-avd", avd.name, *where, "-no-window", "-no-audio", "-no-boot-anim"]
    if options.read_only:
        command.append("-read-only")
    if options.snapshot:
        if options.snapshot not in avd.snapshots():
            raise SnapshotNotFound(f"AVD {avd.name} has no snapshot {options.snapshot!r} "
                                   f"(snapshots: {', '.join(avd.snapshots()) or 'none'})")
        command += ["-snapshot", options.snapshot]
    elif options.cold or QUICK_BOOT_SNAPSHOT not in avd.snapshots():
        command.append("-no-snapshot-load")  # a cold boot, said outright rather than after a failed Quick Boot
    return command + list(options.extra_args)


def last_line(data: bytes | str, pattern: str = "ERROR") -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    marked = [line for line in lines if pattern in line]
    return ((marked or lines or ["no output"])[-1])[:300]


@dataclass
class EmulatorProcess:
    """One emulator process: `serial` is emulator-<port>, adbd on port+1."""

    avd: Avd
    port: int
    command: list[str]
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    attempts: int = 0

    @property
    def serial(self) -> str:
        return f"emulator-{self.port}"

    @property
    def adb_port(self) -> int:
        return self.port + 1

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def launch(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            # its own session: a Ctrl-C in our terminal does not reach it, and it outlives `naysayer emulator start`
            self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=log_file,
                                            stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        self.attempts += 1
        log.info("%s: started %s (pid %s, attempt %d)", self.serial, self.avd.name, self.process.pid, self.attempts)

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process else None

    def log_tail(self) -> str:
        try:
            return last_line(self.log_path.read_bytes()[-65536:])
        except OSError:
            return "no log"

    def terminate(self, timeout: float = 10.0) -> None:
        """The fallback when the console does not stop it: SIGTERM, then SIGKILL."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)

    def stop(self, client: adbutils.AdbClient | None = None, timeout: float = 20.0) -> str:
        """Stop through the console (`kill`); terminate the process if that fails. Returns how it stopped."""
        how = "console"
        try:
            kill_emulator(self.port, timeout=min(5.0, timeout))
        except ConsoleError as exc:
            log.info("%s: console kill failed (%s), terminating the process", self.serial, exc)
            how = "terminated"
        if self.process is not None:
            try:
                self.process.wait(timeout=timeout if how == "console" else 0.1)
            except subprocess.TimeoutExpired:
                how = "terminated"
                self.terminate()
        if client is not None:
            wait_gone(client, self.serial, timeout=timeout)
        return how


class BootTimeout(Exception):
    """Internal: the emulator is up but did not finish booting (or its shell stopped answering)."""


def device_state(client: adbutils.AdbClient, serial: str) -> str | None:
    try:
        return next((d.state for d in client.list() if d.serial == serial), None)
    except (adbutils.AdbError, OSError):
        return None


def wait_gone(client: adbutils.AdbClient, serial: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if device_state(client, serial) is None:
            return True
        time.sleep(0.1)
    return False


def register_with_adb(client: adbutils.AdbClient, adb_port: int) -> None:
    """host:emulator:<port>: what the emulator itself sends; the server connects and handshakes on its own."""
    try:
        with client.make_connection(timeout=5.0) as conn:
            conn.send_command(f"host:emulator:{adb_port}")
    except (adbutils.AdbError, OSError) as exc:
        log.info("registering adb port %d failed: %s", adb_port, exc)


def booted(client: adbutils.AdbClient, serial: str, timeout: float) -> bool:
    """sys.boot_completed is 1 and the shell answers."""
    try:
        device = client.device(serial)
        if device.shell("getprop sys.boot_completed", timeout=timeout).strip() != "1":
            return False
        return device.shell("echo naysayer-alive", timeout=timeout).strip() == "naysayer-alive"
    except (adbutils.AdbError, OSError):
        return False


def wait_for_boot(emulator: EmulatorProcess, client: adbutils.AdbClient, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    registered_at = time.monotonic() + 2.0  # give the emulator its own chance to register first
    while time.monotonic() < deadline:
        code = emulator.exit_code()
        if code is not None:
            raise EmulatorFailed(f"{emulator.serial} (AVD {emulator.avd.name}) exited with code {code}: "
                                 f"{emulator.log_tail()} (log: {emulator.log_path})")
        state = device_state(client, emulator.serial)
        if state == "device" and booted(client, emulator.serial, timeout=max(1.0, min(10.0, timeout / 4))):
            return
        if state is None and time.monotonic() > registered_at and not port_is_free(emulator.adb_port):
            register_with_adb(client, emulator.adb_port)
            registered_at = time.monotonic() + 5.0
        time.sleep(0.2)
    raise BootTimeout(emulator.serial)


def boot(emulator: EmulatorProcess, client: adbutils.AdbClient, timeout: float, restarts: int) -> None:
    """Wait for boot; a wedged emulator (no boot in time, or a dead shell) is killed and started again."""
    for attempt in range(restarts + 1):
        if emulator.process is None or emulator.process.poll() is not None:
            emulator.launch()
        try:
            wait_for_boot(emulator, client, timeout)
            return
        except BootTimeout:
            log.warning("%s: no boot in %.0f s (attempt %d of %d), restarting", emulator.serial, timeout,
                        attempt + 1, restarts + 1)
            emulator.stop(client, timeout=10.0)
            emulator.process = None
    raise EmulatorFailed(f"{emulator.serial} (AVD {emulator.avd.name}) did not boot in {timeout:.0f} s, "
                         f"{restarts + 1} attempt(s) (log: {emulator.log_path})")


# -- state of the emulators we started (for `naysayer emulator stop` from another process) ------------------------
def default_state_dir() -> Path:
    return Path(os.environ.get("HOME") or Path.home()) / ".naysayer" / "emulators"


def write_state(state_dir: Path, emulator: EmulatorProcess) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    record = {"serial": emulator.serial, "port": emulator.port, "pid": emulator.pid, "avd": emulator.avd.name,
              "log": str(emulator.log_path)}
    (state_dir / f"{emulator.serial}.json").write_text(json.dumps(record), encoding="utf-8")


def read_states(state_dir: Path) -> list[dict]:
    records = []
    for path in sorted(state_dir.glob("emulator-*.json")) if state_dir.is_dir() else []:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("port"), int):
            records.append(record)
    return records


def pid_alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)  # reaps it if it is our own exited child
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pid_is_emulator(pid: int, port: int) -> bool:
    """Guard against a recycled pid: its command line must carry `-port <port>` (Linux /proc; elsewhere trusted)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return pid_alive(pid)
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    return any(a == b"-port" and b == str(port).encode() for a, b in itertools.pairwise(args))


# -- the two entry points --------------------------------------------------------------------------------------------
def start_emulators(avd_name: str, count: int = 1, *, client: adbutils.AdbClient,
                    options: LaunchOptions = LaunchOptions(), first_port: int | None = None,
                    boot_timeout: float = 300.0, restarts: int = 2, sdk: Sdk | None = None,
                    env: Mapping[str, str] | None = None, state_dir: Path | None = None) -> list[EmulatorProcess]:
    """Start `count` headless emulators of one AVD, all booting at once; return them once every one has booted.
    On any failure, the ones started here are stopped again."""
    if count < 1:
        raise AvdError(f"-n {count}: start at least one emulator")
    env = dict(os.environ if env is None else env)
    sdk = sdk or find_sdk(env)
    avd = find_avd(avd_name, env)
    if count > 1 and not options.read_only:
        raise AvdError(f"{count} instances of AVD {avd.name} need read-only mode (the emulator refuses a second "
                       "writable instance)")
    env["ANDROID_ADB_SERVER_PORT"] = str(client.port)  # the emulator registers with the server we talk to
    state_dir = state_dir or default_state_dir()
    taken = {int(m.group(1)) for d in client.list() if (m := SERIAL.fullmatch(d.serial))}
    emulators = [EmulatorProcess(avd, port, emulator_command(sdk, avd, port, options),
                                 state_dir / f"emulator-{port}.log", env)
                 for port in pick_ports(count, first_port, taken)]
    try:
        for emulator in emulators:
            emulator.launch()
            write_state(state_dir, emulator)
        for emulator in emulators:
            boot(emulator, client, boot_timeout, restarts)
            write_state(state_dir, emulator)  # a restart changed the pid
    except BaseException:
        for emulator in emulators:
            if emulator.process is not None:
                emulator.stop(client, timeout=10.0)
            (state_dir / f"{emulator.serial}.json").unlink(missing_ok=True)
        raise
    return emulators


def stop_emulator(serial: str, client: adbutils.AdbClient | None = None, state_dir: Path | None = None,
                  timeout: float = 20.0) -> str:
    """Stop emulator-N through its console; terminate its recorded process if the console fails or it lingers.
    Returns "console" or "terminated"."""
    match = SERIAL.fullmatch(serial or "")
    if not match:
        raise EmulatorNotRunning(f"{serial!r}: not an emulator serial (emulator-<console port>)")
    port = int(match.group(1))
    state_dir = state_dir or default_state_dir()
    state_file = state_dir / f"{serial}.json"
    record = next((r for r in read_states(state_dir) if r["port"] == port), None)
    pid = record.get("pid") if record else None
    how = "console"
    try:
        kill_emulator(port, timeout=min(5.0, timeout))
    except ConsoleError as exc:
        if not (isinstance(pid, int) and pid_alive(pid)):
            state_file.unlink(missing_ok=True)
            raise EmulatorNotRunning(f"{serial}: {exc}, and no emulator process of ours is recorded") from None
        how = "terminated"
    if isinstance(pid, int):
        deadline = time.monotonic() + (timeout if how == "console" else 0)
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(pid) and pid_is_emulator(pid, port):
            how = "terminated"
            _terminate_pid(pid)
    if client is not None:
        wait_gone(client, serial, timeout=timeout)
    state_file.unlink(missing_ok=True)
    return how


def _terminate_pid(pid: int, timeout: float = 10.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not pid_alive(pid):
            return


def running_emulators(state_dir: Path | None = None) -> list[dict]:
    """The emulators naysayer started that are still running (pid alive)."""
    return [r for r in read_states(state_dir or default_state_dir())
            if isinstance(r.get("pid"), int) and pid_alive(r["pid"])]
