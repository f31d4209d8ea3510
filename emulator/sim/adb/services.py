"""Which service an OPEN names, and the worker that runs it (one thread per stream)."""

from __future__ import annotations

import logging
import socket
import threading

from emulator.sim.adb.shell_v2 import ShellRequest, StreamShellIO, parse_shell_service
from emulator.sim.adb.stream import Stream
from emulator.sim.adb.sync import serve_sync
from emulator.sim.device_api import DeviceBackend

log = logging.getLogger(__name__)

TCP_CHUNK = 64 * 1024


def run_service(stream: Stream, backend: DeviceBackend) -> None:
    """Entry point of a stream's worker thread: accept or refuse the OPEN, serve, close."""
    service = stream.service
    try:
        shell = parse_shell_service(service)
        if shell is not None:
            serve_shell(stream, backend, shell)
        elif service == "sync:":
            serve_sync(stream, backend.storage_root())
        elif service.startswith("tcp:"):
            serve_tcp(stream, backend, service)
        else:
            log.debug("adb %s: refusing service %r", backend.serial, service[:80])
            stream.refuse()
    except Exception as exc:  # a backend bug ends this stream only
        log.warning("adb %s: service %r failed: %s: %s", backend.serial, service[:80], type(exc).__name__, exc)
        log.debug("adb %s: details", backend.serial, exc_info=True)
        stream.close()


def serve_shell(stream: Stream, backend: DeviceBackend, request: ShellRequest) -> None:
    if not request.command.strip():
        # An interactive shell needs a pty and a real terminal: not simulated.
        stream.refuse()
        return
    stream.accept(discard_input=True)
    io = StreamShellIO(stream, v2=request.v2)
    try:
        code = backend.shell(request.command, io)
    except Exception as exc:
        log.warning("adb %s: shell %r raised %s: %s", backend.serial, request.command[:80], type(exc).__name__, exc)
        log.debug("adb %s: details", backend.serial, exc_info=True)
        code = 255
    if not isinstance(code, int):
        log.warning("adb %s: shell %r returned %r, not an exit code", backend.serial, request.command[:80], code)
        code = 255
    if not stream.closed:
        io.send_exit(code)
    stream.close()


def parse_tcp_port(service: str) -> int | None:
    """`tcp:<port>` or `tcp:<host>:<port>` (the host is the device itself)."""
    port_text = service.rsplit(":", 1)[-1]
    if not port_text.isdigit():
        return None
    port = int(port_text)
    return port if 0 < port < 65536 else None


def serve_tcp(stream: Stream, backend: DeviceBackend, service: str) -> None:
    port = parse_tcp_port(service)
    sock = None
    if port is not None:
        try:
            sock = backend.connect_port(port)
        except Exception as exc:  # the device's service is broken: the client sees a refused port
            log.warning("adb %s: connect_port(%d) raised %s: %s", backend.serial, port, type(exc).__name__, exc)
            log.debug("adb %s: details", backend.serial, exc_info=True)
    if sock is None:
        stream.refuse()
        return
    stream.accept(discard_input=False)
    pump = threading.Thread(target=_socket_to_stream, args=(sock, stream), name=f"adb-tcp-{port}", daemon=True)
    pump.start()
    try:
        while data := stream.read(TCP_CHUNK):
            sock.sendall(data)
    except OSError:
        pass
    finally:
        # The client closed (or the device side failed): end both directions.
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        pump.join(timeout=5.0)
        sock.close()
        stream.close()


def _socket_to_stream(sock: socket.socket, stream: Stream) -> None:
    try:
        while data := sock.recv(TCP_CHUNK):
            if not stream.write(data):
                break
    except OSError:
        pass
    finally:
        stream.close()
