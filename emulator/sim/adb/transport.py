"""The device side of adb over TCP: one listening socket per simulated device, a thread per connection and per stream.

The real adb server connects here (as it does to an emulator's adbd on port console+1) and sends CNXN; we answer
with the backend's banner, or with AUTH challenges we never accept when the backend simulates an unauthorized device.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Self

from emulator.sim.adb.packets import (
    A_AUTH,
    A_CLSE,
    A_CNXN,
    A_OKAY,
    A_OPEN,
    A_VERSION_SKIP_CHECKSUM,
    A_WRTE,
    AUTH_SIGNATURE,
    AUTH_TOKEN,
    MAX_PAYLOAD,
    Message,
    ProtocolError,
    read_message,
)
from emulator.sim.adb.services import run_service
from emulator.sim.adb.stream import Stream
from emulator.sim.device_api import DeviceBackend

log = logging.getLogger(__name__)

# Below this a peer's maxdata is nonsense; adb itself never goes under 4 KiB.
MIN_PAYLOAD = 4096
MAX_SERVICE_NAME = 4096
# A peer that connects and never says CNXN holds a thread: drop it. (After CNXN there is no limit: an
# unauthorized device must stay connected for adb to list it, and a quiet device is normal.)
HANDSHAKE_TIMEOUT = 10.0


class Connection:
    """One TCP connection from an adb server: reads messages and routes them to streams."""

    def __init__(self, backend: DeviceBackend, sock: socket.socket, peer: str) -> None:
        self.backend = backend
        self.peer = peer
        self.max_payload = MAX_PAYLOAD
        self._sock = sock
        self._send_lock = threading.Lock()
        self._streams_lock = threading.Lock()
        self._streams: dict[int, Stream] = {}
        self._next_id = 1
        self._online = False
        self._dead = False

    def send(self, message: Message) -> bool:
        """Send one message; False (and the connection is torn down) if the socket is gone."""
        with self._send_lock:
            if self._dead:
                return False
            try:
                self._sock.sendall(message.encode())
                return True
            except OSError as exc:
                log.warning("adb %s: send failed (%s), closing the connection", self.peer, exc)
        self.shutdown()
        return False

    def forget(self, stream: Stream) -> None:
        with self._streams_lock:
            self._streams.pop(stream.local_id, None)

    def shutdown(self) -> None:
        """Wake the reader thread; it closes the socket and every stream."""
        self._dead = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def serve(self) -> None:
        """Reader loop (its own thread) until the peer leaves, misbehaves, or the server stops."""
        try:
            self._sock.settimeout(HANDSHAKE_TIMEOUT)
            while True:
                self._handle(read_message(self._sock))
        except EOFError:
            log.debug("adb %s: peer closed", self.peer)
        except ProtocolError as exc:
            log.warning("adb %s: dropping connection: %s", self.peer, exc)
        except OSError as exc:
            if not self._dead:
                log.warning("adb %s: connection error: %s", self.peer, exc)
        except Exception as exc:  # a backend bug (banner, auth) must not kill the server or spam tracebacks
            log.warning("adb %s: dropping connection after %s: %s", self.peer, type(exc).__name__, exc)
            log.debug("adb %s: details", self.peer, exc_info=True)
        finally:
            self._dead = True
            with self._streams_lock:
                streams = list(self._streams.values())
                self._streams.clear()
            for stream in streams:
                stream.on_remote_close()
            self._sock.close()

    def _handle(self, msg: Message) -> None:
        if msg.command == A_CNXN:
            self._on_connect(msg)
        elif msg.command == A_AUTH:
            self._on_auth(msg)
        elif not self._online:
            log.debug("adb %s: %s before the handshake ignored", self.peer, msg.name)
        elif msg.command == A_OPEN:
            self._on_open(msg)
        elif msg.command in (A_OKAY, A_WRTE, A_CLSE):
            self._on_stream_message(msg)
        else:
            log.debug("adb %s: %s ignored", self.peer, msg.name)

    def _on_connect(self, msg: Message) -> None:
        self._sock.settimeout(None)
        self.max_payload = max(MIN_PAYLOAD, min(msg.arg1, MAX_PAYLOAD))
        if getattr(self.backend, "offline", False):
            return  # a hung adbd: the connection stays open, the handshake never completes, adb says 'offline'
        if self.backend.requires_auth():
            self._send_auth_token()
            return
        self._online = True
        banner = self.backend.banner().encode("utf-8")
        self.send(Message(A_CNXN, A_VERSION_SKIP_CHECKSUM, self.max_payload, banner))

    def _on_auth(self, msg: Message) -> None:
        # An unauthorized device rejects every signature with a new token; the adb server then offers its
        # public key (AUTH RSAPUBLICKEY), which the "user" never accepts, so the device stays 'unauthorized'.
        if self.backend.requires_auth() and msg.arg0 == AUTH_SIGNATURE:
            self._send_auth_token()

    def _send_auth_token(self) -> None:
        self.send(Message(A_AUTH, AUTH_TOKEN, 0, os.urandom(20)))

    def _on_open(self, msg: Message) -> None:
        if msg.arg0 == 0:
            raise ProtocolError("OPEN with remote id 0")
        if len(msg.data) > MAX_SERVICE_NAME:
            raise ProtocolError(f"service name of {len(msg.data)} bytes")
        service = msg.data.rstrip(b"\0").decode("utf-8", "replace")
        with self._streams_lock:
            local_id = self._next_id
            self._next_id += 1
            stream = Stream(self, local_id, msg.arg0, service)
            self._streams[local_id] = stream
        worker = threading.Thread(
            target=run_service,
            args=(stream, self.backend),
            name=f"adb-{self.backend.serial}-{local_id}",
            daemon=True,
        )
        worker.start()

    def _on_stream_message(self, msg: Message) -> None:
        with self._streams_lock:
            stream = self._streams.get(msg.arg1)
        if stream is None or (msg.arg0 != stream.remote_id and msg.arg0 != 0):
            log.debug("adb %s: %s for unknown stream %d ignored", self.peer, msg.name, msg.arg1)
            return
        if msg.command == A_OKAY:
            stream.on_okay()
        elif msg.command == A_WRTE:
            stream.on_data(msg.data)
        else:
            stream.on_remote_close()
            self.forget(stream)


class AdbDeviceServer:
    """Serves one simulated device on host:port. Emulator convention: emulator-N listens on port N+1."""

    def __init__(self, backend: DeviceBackend, host: str = "127.0.0.1", port: int = 0) -> None:
        self.backend = backend
        self.host = host
        self._requested_port = port
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._connections: set[Connection] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("AdbDeviceServer is not started")
        return self._listener.getsockname()[1]

    def start(self) -> int:
        """Listen and accept in a daemon thread; returns the port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self._requested_port))
        except OSError:
            listener.close()
            raise
        listener.listen(16)
        self._listener = listener
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"adb-accept-{self.backend.serial}", daemon=True
        )
        self._accept_thread.start()
        return self.port

    def stop(self) -> None:
        """Stop listening and drop every connection; stream workers see their streams closed."""
        self._stopping.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.shutdown()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=2.0)

    def __enter__(self) -> Self:
        if self._listener is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._stopping.is_set():
            try:
                sock, addr = listener.accept()
            except OSError:
                break
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = Connection(self.backend, sock, f"{self.backend.serial}<-{addr[0]}:{addr[1]}")
            with self._lock:
                self._connections.add(connection)
            if self._stopping.is_set():
                connection.shutdown()
            threading.Thread(
                target=self._serve_connection, args=(connection,), name=f"adb-conn-{self.backend.serial}", daemon=True
            ).start()

    def _serve_connection(self, connection: Connection) -> None:
        try:
            connection.serve()
        finally:
            with self._lock:
                self._connections.discard(connection)
