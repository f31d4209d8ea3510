"""One lab process per lab folder: DIR/lab.lock, held (flock) while `lab run` works. The OS drops it when the
process dies, however it dies, so a lock that can be taken means whatever is `running` in the index is orphaned."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Self

from crawler.lab.errors import LabError

LOCK_NAME = "lab.lock"


class LabLock:
    def __init__(self, root: Path):
        self.path = Path(root) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "another process"
            os.close(fd)
            raise LabError(f"{self.path.parent}: a lab is already running there (pid {holder})") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def lab_is_running(root: Path) -> bool:
    """True while some process holds the lab's lock."""
    if not (Path(root) / LOCK_NAME).is_file():
        return False
    try:
        LabLock(root).acquire().release()
    except LabError:
        return True
    return False
