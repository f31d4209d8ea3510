"""The `sync:` service: STAT, STA2/LST2, LIST, SEND, RECV, QUIT, on the device's storage root.

Requests are id (4 bytes) + length (4 bytes LE) + path. STAT and LIST cannot report an error on the wire, so a
refused path looks like a missing one there; SEND and RECV answer FAIL with a message.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from emulator.sim.adb.stream import Stream
from emulator.sim.adb.sync_paths import DeviceFilesystem, SyncPathError, decode_device_path

log = logging.getLogger(__name__)

SYNC_DATA_MAX = 64 * 1024
MAX_PUSH_BYTES = 1024 * 1024 * 1024  # one pushed file; the storage root lives on the host's disk
REQUEST = struct.Struct("<4sI")
STAT_V1 = struct.Struct("<4sIII")
STAT_V2 = struct.Struct("<4sIQQIIIIQqqq")
DENT = struct.Struct("<4sIIII")


class SyncFailure(Exception):
    """Ends a SEND/RECV with FAIL and this message."""


def fail_record(message: str) -> bytes:
    data = message.encode("utf-8", "replace")[:1024]
    return struct.pack("<4sI", b"FAIL", len(data)) + data


def _u32(value: float) -> int:
    return int(value) & 0xFFFFFFFF


def _stat_v1(info: os.stat_result | None) -> bytes:
    if info is None:
        return STAT_V1.pack(b"STAT", 0, 0, 0)
    return STAT_V1.pack(b"STAT", _u32(info.st_mode), _u32(info.st_size), _u32(info.st_mtime))


def _stat_v2(reply_id: bytes, info: os.stat_result | None, error: int) -> bytes:
    if info is None:
        return STAT_V2.pack(reply_id, error, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    return STAT_V2.pack(
        reply_id,
        0,
        info.st_dev & 0xFFFFFFFFFFFFFFFF,
        info.st_ino & 0xFFFFFFFFFFFFFFFF,
        _u32(info.st_mode),
        _u32(info.st_nlink),
        # Files on the simulated device belong to the shell user, whoever owns them on the host.
        2000,
        2000,
        info.st_size,
        int(info.st_atime),
        int(info.st_mtime),
        int(info.st_ctime),
    )


class SyncSession:
    def __init__(self, stream: Stream, fs: DeviceFilesystem) -> None:
        self.stream = stream
        self.fs = fs

    def serve(self) -> None:
        while True:
            request_id, length = REQUEST.unpack(self.stream.read_exactly(REQUEST.size))
            if request_id == b"QUIT":
                return
            if length > 4096:
                self.stream.write(fail_record(f"sync request of {length} bytes is too long"))
                return
            raw_path = self.stream.read_exactly(length)
            if request_id == b"STAT":
                self._stat_v1(raw_path)
            elif request_id in (b"STA2", b"LST2"):
                self._stat_v2(raw_path, request_id)
            elif request_id == b"LIST":
                self._list(raw_path)
            elif request_id == b"SEND":
                self._send(raw_path)
            elif request_id == b"RECV":
                self._recv(raw_path)
            else:
                log.warning("adb sync: unknown request %r, closing the stream", request_id)
                self.stream.write(fail_record(f"unknown sync request {request_id!r}"))
                return

    # ----- STAT / STA2 / LST2 -----
    def _lookup(self, raw_path: bytes, follow: bool) -> tuple[os.stat_result | None, int]:
        try:
            host = self.fs.resolve(decode_device_path(raw_path), follow_final=follow)
            return (os.stat(host) if follow else os.lstat(host)), 0
        except SyncPathError as exc:
            log.warning("adb sync: %s", exc)
            return None, errno.EACCES
        except OSError as exc:
            return None, exc.errno or errno.EIO

    def _stat_v1(self, raw_path: bytes) -> None:
        info, _ = self._lookup(raw_path, follow=False)
        self.stream.write(_stat_v1(info))

    def _stat_v2(self, raw_path: bytes, request_id: bytes) -> None:
        info, error = self._lookup(raw_path, follow=request_id == b"STA2")
        self.stream.write(_stat_v2(request_id, info, error))

    # ----- LIST -----
    def _list(self, raw_path: bytes) -> None:
        records: list[bytes] = []
        try:
            directory = self.fs.resolve(decode_device_path(raw_path))
            parent = directory.parent if directory != self.fs.root else directory
            records.append(self._dent(".", os.stat(directory)))
            records.append(self._dent("..", os.stat(parent)))
            with os.scandir(directory) as entries:
                for entry in entries:
                    try:
                        records.append(self._dent(entry.name, entry.stat(follow_symlinks=False)))
                    except OSError:
                        continue
        except SyncPathError as exc:
            log.warning("adb sync: %s", exc)
            records.clear()
        except OSError:
            records.clear()
        records.append(DENT.pack(b"DONE", 0, 0, 0, 0))
        self.stream.write_records(records)

    @staticmethod
    def _dent(name: str, info: os.stat_result) -> bytes:
        encoded = os.fsencode(name)
        return DENT.pack(b"DENT", _u32(info.st_mode), _u32(info.st_size), _u32(info.st_mtime), len(encoded)) + encoded

    # ----- SEND -----
    def _send(self, raw_spec: bytes) -> None:
        path_part, _, mode_part = raw_spec.rpartition(b",")
        try:
            if not path_part:
                raise SyncFailure(f"SEND without mode: {raw_spec[:80]!r}")
            try:
                mode = int(mode_part.decode("ascii"))
            except ValueError:
                raise SyncFailure(f"SEND with a bad mode: {mode_part[:20]!r}") from None
            device_path = decode_device_path(path_part)
            if stat.S_ISLNK(mode):
                raise SyncFailure(f"{device_path}: pushing symbolic links is not supported")
            target = self.fs.resolve(device_path)
            if target == self.fs.root or target.is_dir():
                raise SyncFailure(f"{device_path}: is a directory")
        except (SyncFailure, SyncPathError) as exc:
            log.warning("adb sync: SEND refused: %s", exc)
            self._discard_until_done()
            self.stream.write(fail_record(str(exc)))
            return
        try:
            mtime = self._receive_file(target, device_path, mode)
        except SyncFailure as exc:
            self.stream.write(fail_record(str(exc)))
            return
        log.debug("adb sync: pushed %s (mode %o, mtime %d)", device_path, mode & 0o7777, mtime)
        self.stream.write(b"OKAY" + bytes(4))

    def _read_chunk_header(self) -> tuple[bytes, int]:
        chunk_id, value = REQUEST.unpack(self.stream.read_exactly(REQUEST.size))
        if chunk_id == b"DATA" and value > SYNC_DATA_MAX:
            raise EOFError(f"sync DATA chunk of {value} bytes")  # a broken client: drop the stream
        if chunk_id not in (b"DATA", b"DONE"):
            raise EOFError(f"unexpected {chunk_id!r} during SEND")
        return chunk_id, value

    def _discard_until_done(self) -> None:
        while True:
            chunk_id, value = self._read_chunk_header()
            if chunk_id == b"DONE":
                return
            self.stream.read_exactly(value)

    def _receive_file(self, target: Path, device_path: str, mode: int) -> int:
        """Write DATA chunks to a temp file beside `target`, then move it in place on DONE."""
        error: str | None = None
        handle = None
        temp_name = ""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not self.fs.contains(target.parent):
                raise OSError(errno.EACCES, "parent escapes the device root")
            fd, temp_name = tempfile.mkstemp(prefix=".sync-", dir=target.parent)
            handle = os.fdopen(fd, "wb")
        except OSError as exc:
            error = f"{device_path}: {exc.strerror or exc}"
        written = 0
        try:
            while True:
                chunk_id, value = self._read_chunk_header()
                if chunk_id == b"DONE":
                    mtime = value
                    break
                data = self.stream.read_exactly(value)
                written += len(data)
                if error is None and written > MAX_PUSH_BYTES:
                    error = f"{device_path}: file larger than {MAX_PUSH_BYTES} bytes"
                if error is None and handle is not None:
                    handle.write(data)
            if error is not None:
                raise SyncFailure(error)
            assert handle is not None
            handle.close()
            handle = None
            os.chmod(temp_name, mode & 0o7777)
            os.utime(temp_name, (mtime, mtime))
            os.replace(temp_name, target)
            temp_name = ""
            return mtime
        except OSError as exc:
            raise SyncFailure(f"{device_path}: {exc.strerror or exc}") from None
        finally:
            if handle is not None:
                handle.close()
            if temp_name:
                try:
                    os.unlink(temp_name)
                except OSError:
                    pass

    # ----- RECV -----
    def _recv(self, raw_path: bytes) -> None:
        try:
            device_path = decode_device_path(raw_path)
            source = self.fs.resolve(device_path)
            handle = open(source, "rb")  # noqa: SIM115  (closed below, after streaming)
        except SyncPathError as exc:
            log.warning("adb sync: RECV refused: %s", exc)
            self.stream.write(fail_record(str(exc)))
            return
        except OSError as exc:
            self.stream.write(fail_record(f"{raw_path.decode('utf-8', 'replace')}: {exc.strerror or exc}"))
            return
        with handle:
            # DATA records and DONE packed into as few WRTEs as fit: one round trip per MiB, not per 64 KiB.
            self.stream.write_records(self._file_records(handle, device_path))

    @staticmethod
    def _file_records(handle: BinaryIO, device_path: str) -> Iterator[bytes]:
        try:
            while chunk := handle.read(SYNC_DATA_MAX):
                yield struct.pack("<4sI", b"DATA", len(chunk)) + chunk
        except OSError as exc:
            yield fail_record(f"{device_path}: {exc.strerror or exc}")
            return
        yield b"DONE" + bytes(4)


def serve_sync(stream: Stream, storage_root: Path) -> None:
    stream.accept(discard_input=False)
    try:
        SyncSession(stream, DeviceFilesystem.at(storage_root)).serve()
    except EOFError as exc:
        if str(exc) and not stream.closed:
            log.warning("adb sync: %s", exc)
    finally:
        stream.close()
