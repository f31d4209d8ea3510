"""Which service an OPEN names, and the worker that runs it (one thread per stream)."""

from __future__ import annotations

import logging
import socket
import struct
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
        elif service.startswith("reverse:") and hasattr(backend, "reverse_forwards"):
            serve_reverse(stream, backend, service[len("reverse:"):])
        elif service == "framebuffer:" and hasattr(backend, "framebuffer"):
            serve_framebuffer(stream, backend)
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
    stream.accept(discard_input=False)
    io = StreamShellIO(stream, v2=request.v2)
    threading.Thread(target=io.pump_stdin, name="adb-shell-stdin", daemon=True).start()
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


def serve_reverse(stream: Stream, backend, request: str) -> None:
    """adbd's reverse forwards (reverse:forward:[norebind:]REMOTE;LOCAL, list-forward, killforward[-all]), kept as
    a list: the device answers as adbd does; connections to the reversed ports are not made."""
    forwards: dict[str, str] = backend.reverse_forwards
    stream.accept(discard_input=True)
    if request == "list-forward":
        listing = "".join(f"host {remote} {local}\n" for remote, local in forwards.items())
        stream.write(f"{len(listing.encode()):04x}".encode() + listing.encode())
    elif request.startswith("forward:"):
        spec = request[len("forward:"):]
        norebind = spec.startswith("norebind:")
        remote, _, local = spec.removeprefix("norebind:").partition(";")
        if not remote or not local:
            message = "malformed forward spec"
            stream.write(b"FAIL" + f"{len(message):04x}{message}".encode())
        elif norebind and remote in forwards:
            message = f"cannot rebind existing socket {remote}"
            stream.write(b"FAIL" + f"{len(message):04x}{message}".encode())
        else:
            forwards[remote] = local
            stream.write(b"OKAY")
    elif request.startswith("killforward:"):
        remote = request[len("killforward:"):]
        if forwards.pop(remote, None) is None:
            message = f"listener '{remote}' not found"
            stream.write(b"FAIL" + f"{len(message):04x}{message}".encode())
        else:
            stream.write(b"OKAY")
    elif request == "killforward-all":
        forwards.clear()
        stream.write(b"OKAY")
    else:
        message = f"unknown reverse request {request[:40]}"
        stream.write(b"FAIL" + f"{len(message):04x}{message}".encode())
    stream.close()


def serve_framebuffer(stream: Stream, backend) -> None:
    """framebuffer: a version-1 header (bpp 32, RGBA) and the raw pixels of the screen."""
    width, height, rgba = backend.framebuffer()
    header = struct.pack("<13I", 1, 32, len(rgba), width, height, 0, 8, 16, 8, 8, 8, 24, 8)
    stream.accept(discard_input=True)
    stream.write(header)
    for start in range(0, len(rgba), TCP_CHUNK):
        if not stream.write(rgba[start:start + TCP_CHUNK]):
            break
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
