"""Remove two stalls of the stock adb clients, for our calls only, without forking either library.

Measured (../shared/reference/adb-wire.md, and bench/wire.py):
- uiautomator2 sends each JSON-RPC request with http.client, which writes headers and body in two send() calls on
  a socket without TCP_NODELAY: Nagle holds the body until the peer's delayed ACK fires, about 40 ms per call.
- adbutils' AdbConnection.close() sleeps 10 ms after shutdown, and every device call first opens a separate
  `host:version` connection to pick the transport command: two connections and one sleep per call.

`FastAdbClient` is an `adbutils.AdbClient` whose connections set TCP_NODELAY and close without the sleep, and which
asks the server version once. uiautomator2 opens its HTTP sockets through `AdbDevice.create_connection`, so a u2
Device built on a FastAdbClient device gets both fixes too.
"""

from __future__ import annotations

import socket

import adbutils
from adbutils._adb import AdbConnection  # the class whose close() sleeps; subclassed, not patched


class FastAdbConnection(AdbConnection):
    def _create_socket(self) -> socket.socket:
        sock = super()._create_socket()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def close(self) -> None:
        conn = self.conn if not self.closed else None
        if conn is None:
            return
        # The stock close() sleeps 10 ms after shutdown(SHUT_WR) "to make sure the shutdown is processed"; every
        # caller of ours has read its reply to the end, so nothing is lost by closing at once.
        try:
            conn.close()
        finally:
            self._AdbConnection__conn = None  # the base class keeps the socket in a private attribute


class FastAdbClient(adbutils.AdbClient):
    _server_version: int | None = None

    def make_connection(self, timeout: float | None = None) -> AdbConnection:
        try:
            conn = FastAdbConnection(self.host, self.port)
        except TimeoutError as exc:
            raise adbutils.AdbTimeout("connect to adb server timeout") from exc
        if timeout:
            conn.conn.settimeout(timeout)
        return conn

    def server_version(self) -> int:
        # Asked before every transport open by AdbDevice.open_transport; it cannot change while the server runs.
        if self._server_version is None:
            self._server_version = super().server_version()
        return self._server_version
