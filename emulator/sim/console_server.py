"""The emulator console of a simulated emulator: the text protocol of android/console.cpp on 127.0.0.1:<port>.

Modelled on the real console: the banner with or without "Authentication required" (depending on
~/.emulator_console_auth_token, created with a random token when missing, auth off when empty), the commands legal
before auth (help, help-verbose, ping, avd name, auth, quit|exit), CRLF line ends, replies ending in OK or `KO: ...`,
`KO: unknown command, try 'help'`, "KO: missing sub-command" / "KO:  bad sub-command" after the group's help, binary
and HTTP request lines refused and the connection dropped. Commands: kill, ping, avd name|status|path|snapshot
list|save|load|del|delete|get, sensor status|get|set. Snapshots are folders <avd>/snapshots/<name>/ as on a real AVD;
loading one changes no device state here (the simulator has nothing to restore), it is recorded for `avd snapshot get`.
"""

from __future__ import annotations

import logging
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

DATA_FILE = Path(__file__).with_name("emulator.yaml")
MAX_LINE = 4095  # the real console's line buffer; a longer line is dropped
SNAPSHOT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
HTTP_REQUEST = re.compile(r"^(GET|POST|HEAD|PUT|DELETE|OPTIONS|CONNECT|TRACE|PATCH) \S+ HTTP/\d")
SNAPSHOT_MARKER = "snapshot.pb"  # the file a real snapshot folder always has


class ConsoleKO(Exception):
    """A command failed: the session writes `KO: <message>`."""


def load_sensors() -> dict[str, list[float]]:
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    return {name: [float(v) for v in values] for name, values in data["sensors"].items()}


def auth_token_status(token_path: Path) -> str | None:
    """The token the console wants: None = auth off (empty file). Creates the file, as the emulator does."""
    if not token_path.exists():
        token_path.parent.mkdir(parents=True, exist_ok=True)
        token_path.write_text(secrets.token_urlsafe(12)[:16], encoding="ascii")
        token_path.chmod(0o600)
    token = token_path.read_text(encoding="utf-8", errors="replace").strip()
    return token or None


@dataclass
class SnapshotStore:
    """The AVD's snapshot folders. `-read-only` disables save, load and delete, as in the real console."""

    avd_dir: Path
    read_only: bool
    loaded: str | None = None

    @property
    def root(self) -> Path:
        return self.avd_dir / "snapshots"

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / SNAPSHOT_MARKER).is_file())

    def _check(self, verb: str, name: str | None) -> str:
        if self.read_only:
            raise ConsoleKO(f'Snapshot {verb} is disabled because "-read-only" was specified')
        if not name:
            raise ConsoleKO(f"Argument missing, try 'avd snapshot {verb} <name>'")
        if not SNAPSHOT_NAME.fullmatch(name):
            raise ConsoleKO(f"invalid snapshot name '{name[:64]}'")
        return name

    def save(self, name: str | None) -> None:
        name = self._check("save", name)
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SNAPSHOT_MARKER).write_text(f"naysayer simulated snapshot {name}\n", encoding="utf-8")

    def load(self, name: str | None) -> None:
        name = self._check("load", name)
        if name not in self.names():
            raise ConsoleKO(f"snapshot '{name}' does not exist")
        self.loaded = name

    def delete(self, name: str | None) -> None:
        name = self._check("delete", name)
        folder = self.root / name
        if not (folder / SNAPSHOT_MARKER).is_file():
            raise ConsoleKO(f"snapshot '{name}' does not exist")
        for item in folder.iterdir():
            item.unlink()
        folder.rmdir()

    def listing(self) -> str:
        names = self.names()
        if not names:
            return "There is no snapshot available"
        rows = ["List of snapshots present on all disks:", "ID        TAG                 VM SIZE                DATE"]
        for name in names:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime((self.root / name / SNAPSHOT_MARKER).stat().st_mtime))
            rows.append(f"--        {name:<20}{'0':>7} {stamp}")
        return "\n".join(rows)


@dataclass
class Command:
    names: str  # "help|h|?"
    abstract: str
    handler: Callable[[Session, str | None], str | None] | None = None
    subcommands: list[Command] | None = None

    def matches(self, line: str) -> int:
        """Length of the name `line` starts with (followed by a space or the end), else 0."""
        for name in self.names.split("|"):
            if line.startswith(name) and (len(line) == len(name) or line[len(name)] == " "):
                return len(name)
        return 0


def find_command(line: str, commands: list[Command]) -> tuple[Command | None, str | None]:
    for command in commands:
        size = command.matches(line)
        if size:
            rest = line[size:].strip(" ")
            return command, rest or None
    return None, None


@dataclass
class ConsoleServer:
    """Serve the console on 127.0.0.1:port in daemon threads. `on_kill` is called after `kill` is answered."""

    port: int
    avd_name: str
    snapshots: SnapshotStore
    token_path: Path
    on_kill: Callable[[], None]
    sensors: dict[str, list[float]] = field(default_factory=load_sensors)
    _listener: socket.socket | None = field(default=None, repr=False)
    _token: str | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self) -> None:
        self._token = auth_token_status(self.token_path)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", self.port))
        except OSError:
            listener.close()
            raise
        listener.listen(8)
        self._listener = listener
        threading.Thread(target=self._accept_loop, name=f"console-{self.port}", daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()

    def _accept_loop(self) -> None:
        while self._listener is not None:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            session = Session(self, sock)
            threading.Thread(target=session.serve, name=f"console-client-{self.port}", daemon=True).start()

    # -- the command tables ------------------------------------------------------------------------------------------
    def main_commands(self) -> list[Command]:
        return [
            HELP, HELP_VERBOSE, PING,
            Command("kill", "kill the emulator instance", do_kill),
            QUIT,
            Command("avd", "control virtual device execution", None, [
                Command("status", "query virtual device status", lambda s, a: "virtual device is running"),
                Command("name", "query virtual device name", do_avd_name),
                Command("path", "query AVD path", lambda s, a: str(s.server.snapshots.avd_dir)),
                Command("snapshot", "state snapshot commands", None, [
                    Command("list", "list available state snapshots", lambda s, a: s.server.snapshots.listing()),
                    Command("save", "save state snapshot", lambda s, a: s.server.snapshots.save(a)),
                    Command("load", "load state snapshot", lambda s, a: s.server.snapshots.load(a)),
                    Command("del", "delete state snapshot", lambda s, a: s.server.snapshots.delete(a)),
                    Command("delete", "delete state snapshot", lambda s, a: s.server.snapshots.delete(a)),
                    Command("get", "print the name of the snapshot loaded into the current session",
                            lambda s, a: s.server.snapshots.loaded or "(null)"),
                ]),
            ]),
            Command("sensor", "manage emulator sensors", None, [
                Command("status", "list all sensors and their status.", do_sensor_status),
                Command("get", "get sensor values", do_sensor_get),
                Command("set", "set sensor values", do_sensor_set),
            ]),
        ]

    def preauth_commands(self) -> list[Command]:
        return [HELP, HELP_VERBOSE, PING,
                Command("avd", "control virtual device execution", None,
                        [Command("name", "query virtual device name", do_avd_name)]),
                Command("auth", "user authentication for the emulator console", do_auth),
                QUIT]


class Session:
    """One client connection."""

    def __init__(self, server: ConsoleServer, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.finished = False
        self.kill_requested = False
        self.commands = server.preauth_commands() if server._token else server.main_commands()

    def write(self, text: str) -> None:
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "replace")
        try:
            self.sock.sendall(data)
        except OSError:
            self.finished = True

    def serve(self) -> None:
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.server._token:
                self.write("Android Console: Authentication required\n"
                           "Android Console: type 'auth <auth_token>' to authenticate\n"
                           "Android Console: you can find your <auth_token> in \n"
                           f"'{self.server.token_path}'\nOK\n")
            else:
                self.write("Android Console: type 'help' for a list of commands\nOK\n")
            buffer = bytearray()
            overlong = False  # the line in progress went past MAX_LINE: it is dropped up to its newline, all of it
            while not self.finished:
                chunk = self.sock.recv(4096)
                if not chunk:
                    return
                *lines, rest = chunk.split(b"\n")
                for piece in lines:
                    buffer += piece
                    line, too_long = bytes(buffer).replace(b"\r", b""), overlong or len(buffer) > MAX_LINE
                    buffer.clear()
                    overlong = False
                    if not too_long:
                        self.run_line(line)
                    if self.finished:
                        break
                buffer += rest
                if len(buffer) > MAX_LINE:
                    buffer.clear()
                    overlong = True
        except OSError:
            pass
        finally:
            self.sock.close()
            if self.kill_requested:
                self.server.on_kill()

    def run_line(self, raw: bytes) -> None:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = None
        if line is None or "\x00" in line:
            self.write("KO: Forbidden binary request. Aborting\n")
            self.finished = True
            return
        if HTTP_REQUEST.match(line):
            self.write("KO: Forbidden HTTP request. Aborting\n")
            self.finished = True
            return
        command, args = find_command(line, self.commands)
        if command is None:
            self.write("KO: unknown command, try 'help'\n")
            return
        while True:
            if command.handler is not None:
                try:
                    with self.server._lock:
                        text = command.handler(self, args)
                except ConsoleKO as exc:
                    self.write(f"KO: {exc}\n")
                    return
                if self.finished and not self.kill_requested:
                    return  # quit: no OK, the connection just closes
                if text:
                    self.write(text + "\n")
                self.write("OK\n")
                return
            if args is None:
                self.write(group_help(command) + "KO: missing sub-command\n")
                return
            sub, args = find_command(args, command.subcommands or [])
            if sub is None:
                self.write(group_help(command) + "KO:  bad sub-command\n")
                return
            command = sub


def group_help(command: Command) -> str:
    lines = [command.abstract, "", "available sub-commands:"]
    lines += [f"    {sub.names:<15}  {sub.abstract}" for sub in command.subcommands or []]
    return "\n".join(lines) + "\n\n"


# -- handlers --------------------------------------------------------------------------------------------------------
def do_help(session: Session, args: str | None) -> str:
    if args:
        command, _ = find_command(args, session.commands)
        if command is not None:
            return group_help(command).rstrip("\n") if command.subcommands else command.abstract
        session.write(do_help(session, None) + "\n\n")
        raise ConsoleKO("unknown command")
    names = "\n".join(f"    {c.names}" for c in session.commands)
    return (f"Android console commands:\n{names}\n\nTry 'help-verbose' for more description\n"
            "Try 'help <command>' for command-specific help")


def do_help_verbose(session: Session, args: str | None) -> str:
    rows = "\n".join(f"    {c.names:<15}  {c.abstract}" for c in session.commands)
    return f"Android console command help:\n\n{rows}\n\ntry 'help <command>' for command-specific help"


def do_quit(session: Session, args: str | None) -> None:
    session.finished = True


def do_kill(session: Session, args: str | None) -> str:
    session.kill_requested = True
    session.finished = True
    return "OK: killing emulator, bye bye"


def do_avd_name(session: Session, args: str | None) -> str:
    return session.server.avd_name


def do_auth(session: Session, args: str | None) -> str:
    if not args:
        raise ConsoleKO("missing authentication token")
    try:
        wanted = auth_token_status(session.server.token_path) or ""
    except OSError:
        raise ConsoleKO("unable to read ~/.emulator_console_auth_token") from None
    if not secrets.compare_digest(wanted.encode(), args.encode()):
        raise ConsoleKO("authentication token does not match ~/.emulator_console_auth_token")
    session.commands = session.server.main_commands()
    return "Android Console: type 'help' for a list of commands"


def do_sensor_status(session: Session, args: str | None) -> str:
    return "\n".join(f"{name}: enabled." for name in session.server.sensors)


def _sensor(session: Session, name: str) -> list[float]:
    values = session.server.sensors.get(name)
    if values is None:
        raise ConsoleKO(f"unknown sensor name: {name[:64]}, run 'sensor status' to get available sensors.")
    return values


def do_sensor_get(session: Session, args: str | None) -> str:
    if not args:
        raise ConsoleKO('Usage: "get <sensorname>"')
    name = args.split()[0]
    return f"{name} = " + ":".join(f"{v:g}" for v in _sensor(session, name))


def do_sensor_set(session: Session, args: str | None) -> None:
    usage = 'Usage: "set <sensorname> <value-a>[:<value-b>[:<value-c>]]"'
    parts = (args or "").split(None, 1)
    if len(parts) != 2:
        raise ConsoleKO(usage)
    name, text = parts
    values = _sensor(session, name)
    fields = text.strip().split(":")
    if len(fields) > len(values):
        raise ConsoleKO(usage)
    for index, item in enumerate(fields):
        if not item:
            continue  # an empty field keeps the current value, as in the real parser
        try:
            values[index] = float(item)
        except ValueError:
            raise ConsoleKO(usage) from None


HELP = Command("help|h|?", "print a list of commands", do_help)
HELP_VERBOSE = Command("help-verbose", "print a list of commands with descriptions", do_help_verbose)
PING = Command("ping", "check if the emulator is alive", lambda s, a: "I am alive!")
QUIT = Command("quit|exit", "quit control session", do_quit)
