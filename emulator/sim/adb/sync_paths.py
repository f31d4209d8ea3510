"""Device paths for sync:, resolved strictly inside the device's storage root on the host.

A device path is walked component by component from the root: `..` may not climb above the root, symlinks are
followed only when relative (an absolute target would point into the host), and the final host path is checked to
lie under the root once more. Errors are SyncPathError with a message that names the device path, never a host path.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

MAX_PATH_BYTES = 1024  # adbd's limit for a sync request path
MAX_SYMLINK_HOPS = 40  # Linux's MAXSYMLINKS


class SyncPathError(Exception):
    """A device path that cannot be used: escapes the root, bad bytes, absolute symlink, too long."""


def decode_device_path(raw: bytes) -> str:
    if len(raw) > MAX_PATH_BYTES:
        raise SyncPathError(f"path too long ({len(raw)} bytes, limit {MAX_PATH_BYTES})")
    if b"\0" in raw:
        raise SyncPathError(f"path contains a NUL byte: {raw[:80]!r}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SyncPathError(f"path is not valid UTF-8: {raw[:80]!r}") from None
    if not text:
        raise SyncPathError("empty path")
    return text


def _components(path: str) -> list[str]:
    return [part for part in path.split("/") if part not in ("", ".")]


@dataclass(frozen=True)
class DeviceFilesystem:
    """Maps device paths to host paths under `root`."""

    root: Path

    @classmethod
    def at(cls, root: Path) -> DeviceFilesystem:
        return cls(Path(os.path.realpath(root)))

    def resolve(self, device_path: str, follow_final: bool = True) -> Path:
        """The host path for `device_path` (relative paths start at /). `follow_final=False` is lstat semantics."""
        pending = deque(_components(device_path))
        resolved: list[str] = []
        hops = 0
        while pending:
            name = pending.popleft()
            if name == "..":
                if not resolved:
                    raise SyncPathError(f"{device_path}: path escapes the device root")
                resolved.pop()
                continue
            host = self.root.joinpath(*resolved, name)
            if (pending or follow_final) and os.path.islink(host):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    raise SyncPathError(f"{device_path}: too many levels of symbolic links")
                target = os.readlink(host)
                if target.startswith("/"):
                    raise SyncPathError(f"{device_path}: absolute symbolic link refused")
                pending.extendleft(reversed(_components(target)))
                continue
            resolved.append(name)
        host_path = self.root.joinpath(*resolved)
        self._check_inside(host_path if follow_final or not resolved else host_path.parent, device_path)
        return host_path

    def contains(self, host_path: Path) -> bool:
        real = os.path.realpath(host_path)
        return real == str(self.root) or real.startswith(str(self.root) + os.sep)

    def _check_inside(self, host_path: Path, device_path: str) -> None:
        # Belt and braces against anything the walk above missed (e.g. a race replacing a directory by a link).
        if not self.contains(host_path):
            raise SyncPathError(f"{device_path}: path escapes the device root")
