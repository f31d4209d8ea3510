"""The simulated device's adb transport, driven by the real adb server, real adbutils and real uiautomator2."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import struct
import subprocess
import threading
from pathlib import Path

import adbutils
import pytest
import uiautomator2

from emulator.sim.adb.packets import A_CNXN, A_OKAY, A_OPEN, A_WRTE, HEADER, Message, read_message
from emulator.sim.adb_server import adb_binary, ensure_adb_server, free_port

ECHO_PORT = 7777
U2_PORT = 9008
BIG_OUTPUT = 3 * 1024 * 1024 + 17


class EchoBackend:
    """A DeviceBackend with a handful of commands, a storage root, an echo service and a /ping that says pong."""

    def __init__(self, serial: str, root: Path, unauthorized: bool = False) -> None:
        self.serial = serial
        self.root = root
        self.unauthorized = unauthorized
        self.streaming_stopped = threading.Event()
        root.mkdir(parents=True, exist_ok=True)

    def banner(self) -> str:
        return (
            f"device::ro.product.name={self.serial};ro.product.model=Sim;ro.product.device={self.serial};"
            "features=shell_v2,cmd,stat_v2"
        )

    def requires_auth(self) -> bool:
        return self.unauthorized

    def shell(self, command: str, io) -> int:
        # adbutils' shell2 without v2 and uiautomator2 append "; echo X4EXIT:$?" to learn the exit code.
        command, marker, _ = command.partition("; echo X4EXIT:$?")
        code = self._run(command.strip(), io)
        if marker:
            io.write(f"X4EXIT:{code}\n".encode())
        return code

    def _run(self, command: str, io) -> int:
        name, _, rest = command.partition(" ")
        if name == "echo":
            io.write(rest.encode() + b"\n")
            return 0
        if name == "whoami":
            io.write(self.serial.encode() + b"\n")
            return 0
        if name == "exit":
            return int(rest)
        if name == "fail":
            io.write(b"out\n")
            io.write_err(rest.encode() + b"\n")
            return 2
        if name == "big":
            io.write(b"x" * BIG_OUTPUT)
            return 0
        if name == "stream":
            while not io.closed:
                io.write(b"line\n")
                io.wait_closed(0.01)
            self.streaming_stopped.set()
            return 0
        if name == "toybox" and rest.startswith("md5sum "):
            path = rest[len("md5sum ") :].strip("'\"")
            target = self.root / path.lstrip("/")
            if not target.is_file():
                io.write_err(f"md5sum: {path}: No such file or directory\n".encode())
                return 1
            io.write(f"{hashlib.md5(target.read_bytes()).hexdigest()}  {path}\n".encode())
            return 0
        io.write_err(f"/system/bin/sh: {name}: not found\n".encode())
        return 127

    def storage_root(self) -> Path:
        return self.root

    def connect_port(self, port: int) -> socket.socket | None:
        if port not in (ECHO_PORT, U2_PORT):
            return None
        ours, theirs = socket.socketpair()
        service = self._echo if port == ECHO_PORT else self._pong
        threading.Thread(target=service, args=(ours,), daemon=True).start()
        return theirs

    @staticmethod
    def _echo(sock: socket.socket) -> None:
        with sock:
            while data := sock.recv(65536):
                sock.sendall(data)

    @staticmethod
    def _pong(sock: socket.socket) -> None:
        with sock:
            request = b""
            while b"\r\n\r\n" not in request and (chunk := sock.recv(4096)):
                request += chunk
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\npong")


@pytest.fixture
def sim(serve_device, tmp_path):
    backend = EchoBackend("sim-a", tmp_path / "root")
    registered = serve_device(backend)
    return backend, registered


def test_device_shows_as_device_in_adb_devices(sim, adb_server):
    _, registered = sim
    out = subprocess.run(
        [adb_server.adb, "-P", str(adb_server.port), "devices"], env=adb_server.env, capture_output=True, check=True
    ).stdout.decode()
    assert f"{registered.serial}\tdevice" in out
    tags = {info.serial: info.tags for info in registered.client.list(extended=True)}[registered.serial]
    assert (tags["product"], tags["model"]) == ("sim-a", "Sim")  # from the CNXN banner
    assert "shell_v2" in registered.device.get_features()


def test_raw_shell_merges_stderr_and_v2_keeps_exit_code(sim):
    _, registered = sim
    device = registered.device
    assert device.shell("echo hello") == "hello"
    assert "oops" in device.shell("fail oops")
    v2 = device.shell2("fail oops", v2=True)
    assert (v2.returncode, v2.stdout, v2.stderr) == (2, "out\n", "oops\n")
    assert device.shell2("exit 7", v2=True).returncode == 7
    assert device.shell2("exit 5").returncode == 5  # raw shell + X4EXIT marker
    assert device.shell2("nosuchcmd", v2=True).returncode == 127


def test_large_output_arrives_whole(sim):
    _, registered = sim
    assert len(registered.device.shell("big", encoding=None)) == BIG_OUTPUT


def test_streaming_command_stops_when_client_closes(sim):
    backend, registered = sim
    conn = registered.device.shell("stream", stream=True)
    assert conn.read(5) == b"line\n"
    conn.close()
    assert backend.streaming_stopped.wait(5.0)


def test_push_pull_stat_list(sim, tmp_path):
    backend, registered = sim
    sync = registered.device.sync
    payload = os.urandom(200_000)
    sync.push(payload, "/data/local/tmp/blob.bin", mode=0o640)
    host_file = backend.root / "data/local/tmp/blob.bin"
    assert host_file.read_bytes() == payload
    assert stat.S_IMODE(host_file.stat().st_mode) == 0o640
    info = sync.stat("/data/local/tmp/blob.bin")
    assert (info.size, stat.S_IMODE(info.mode), stat.S_ISREG(info.mode)) == (len(payload), 0o640, True)
    assert "blob.bin" in [entry.path for entry in sync.list("/data/local/tmp")]
    assert sync.pull("/data/local/tmp/blob.bin", tmp_path / "pulled.bin") == len(payload)
    assert (tmp_path / "pulled.bin").read_bytes() == payload
    assert not sync.exists("/data/local/tmp/missing")
    with pytest.raises(adbutils.AdbError):
        sync.read_bytes("/data/local/tmp/missing")


def test_push_honours_mtime(sim):
    backend, registered = sim
    with registered.device.open_transport() as conn:
        conn.send_command("sync:")
        conn.check_okay()
        spec = b"/sdcard/old.txt," + str(stat.S_IFREG | 0o600).encode()
        conn.send(b"SEND" + struct.pack("<I", len(spec)) + spec + b"DATA" + struct.pack("<I", 3) + b"abc")
        conn.send(b"DONE" + struct.pack("<I", 1_000_000_000))
        assert conn.read(8) == b"OKAY" + bytes(4)
    assert (backend.root / "sdcard/old.txt").stat().st_mtime == 1_000_000_000


def test_tcp_forward_bridges_both_ways_and_refuses_closed_ports(sim):
    _, registered = sim
    sock = registered.device.create_connection(adbutils.Network.TCP, ECHO_PORT)
    with sock:
        sock.sendall(b"ping" * 50_000)
        received = b""
        while len(received) < 200_000:
            received += sock.recv(65536)
    assert received == b"ping" * 50_000
    with pytest.raises(adbutils.AdbError):
        registered.device.create_connection(adbutils.Network.TCP, 1234)


def test_uiautomator2_connects_through_push_md5_and_ping(sim):
    backend, registered = sim
    u2 = uiautomator2.connect(registered.serial)  # by serial: resolved through adbutils.adb (the session server)
    jar = backend.root / "data/local/tmp/u2.jar"
    assert jar.is_file() and jar.stat().st_size > 1_000_000
    assert u2.shell("whoami").output.strip() == "sim-a"


def test_unauthorized_device_shows_unauthorized(serve_device, tmp_path):
    registered = serve_device(EchoBackend("locked", tmp_path, unauthorized=True), states=("unauthorized",))
    states = {info.serial: info.state for info in registered.client.list()}
    assert states[registered.serial] == "unauthorized"
    with pytest.raises(adbutils.AdbError):
        registered.device.shell("echo hi")


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00" * 24,  # bad magic
        HEADER.pack(A_CNXN, 0x01000001, 4096, 1 << 30, 0, A_CNXN ^ 0xFFFFFFFF),  # 1 GiB payload
        HEADER.pack(0x4B4E554A, 0, 0, 0, 0, 0x4B4E554A ^ 0xFFFFFFFF),  # unknown command
    ],
    ids=["bad-magic", "huge-length", "unknown-command"],
)
def test_garbage_client_is_dropped_while_good_client_is_served(sim, garbage):
    _, registered = sim
    port = registered.server.port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as bad:
        bad.sendall(garbage)
        assert registered.device.shell("echo still here") == "still here"
        assert bad.recv(100) == b""  # its own connection, and only it, was closed
    with socket.create_connection(("127.0.0.1", port), timeout=5) as quitter:
        quitter.sendall(HEADER.pack(A_CNXN, 0x01000001, 4096, 100, 0, A_CNXN ^ 0xFFFFFFFF) + b"host::")
    assert registered.device.shell("echo still here") == "still here"


def test_client_vanishing_mid_stream_stops_the_command(sim):
    backend, registered = sim
    with socket.create_connection(("127.0.0.1", registered.server.port), timeout=5) as raw:
        raw.sendall(Message(A_CNXN, 0x01000001, 4096, b"host::\0").encode())
        assert read_message(raw).command == A_CNXN
        raw.sendall(Message(A_OPEN, 1, 0, b"shell:stream\0").encode())
        okay, first = read_message(raw), read_message(raw)
        assert (okay.command, okay.arg1, first.command, first.data) == (A_OKAY, 1, A_WRTE, b"line\n")
        raw.settimeout(0.3)
        with pytest.raises(TimeoutError):  # flow control: no second WRTE before we acknowledge the first
            read_message(raw)
    assert backend.streaming_stopped.wait(5.0)
    assert registered.device.shell("echo alive") == "alive"


def test_paths_cannot_escape_the_storage_root(sim, tmp_path):
    backend, registered = sim
    sync = registered.device.sync
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("host secret")
    (backend.root / "sdcard").mkdir()
    os.symlink(outside, backend.root / "sdcard/abs-link")  # absolute target: refused
    os.symlink("../outside", backend.root / "rel-escape")  # relative but climbing out: refused
    for path in [
        "../../etc/passwd",
        "/data/../../outside/secret.txt",
        "/sdcard/abs-link/secret.txt",
        "/rel-escape/secret.txt",
    ]:
        with pytest.raises(adbutils.AdbError):
            sync.read_bytes(path)
        with pytest.raises(adbutils.AdbError):
            sync.push(b"pwned", path)
        assert not sync.exists(path)
    assert secret.read_text() == "host secret"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert not (tmp_path / "etc").exists()
    # A relative link that stays inside the root works like on a phone.
    (backend.root / "storage/emulated/0").mkdir(parents=True)
    os.symlink("storage/emulated/0", backend.root / "sd")
    sync.push(b"ok", "/sd/note.txt")
    assert (backend.root / "storage/emulated/0/note.txt").read_bytes() == b"ok"


def test_two_devices_stay_independent(serve_device, tmp_path):
    first = serve_device(EchoBackend("sim-1", tmp_path / "one"))
    second = serve_device(EchoBackend("sim-2", tmp_path / "two"))
    first.device.sync.push(b"1", "/sdcard/which.txt")
    second.device.sync.push(b"2", "/sdcard/which.txt")
    assert first.device.shell("whoami") == "sim-1"
    assert second.device.shell("whoami") == "sim-2"
    assert first.device.sync.read_bytes("/sdcard/which.txt") == b"1"
    first.stop()
    assert first.serial not in {info.serial for info in second.client.list()}
    assert second.device.sync.read_bytes("/sdcard/which.txt") == b"2"


def test_ensure_adb_server_starts_one_when_none_runs_and_reuses_it(monkeypatch, tmp_path):
    port = free_port()
    for name, value in {"HOME": tmp_path, "TMPDIR": tmp_path, "ADB_EMU": "0", "ADB_USB": "0", "ADB_MDNS": "0"}.items():
        monkeypatch.setenv(name, str(value))
    try:
        client = ensure_adb_server(port)
        assert client.port == port and client.server_version() > 0
        assert ensure_adb_server(port).port == port  # already running: reused
    finally:
        subprocess.run([adb_binary(), "-P", str(port), "kill-server"], capture_output=True, timeout=10, check=False)
