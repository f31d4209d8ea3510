"""Cases with a known ending, so tests/fuzz/test_harness.py can prove the harness classifies each one right."""

from __future__ import annotations

import ctypes
import os
import sys
import time

from crawler.screen import BadHierarchy


def returns_nothing() -> None:
    return None


def returns(outcome: str) -> str:
    return outcome


def user_error(message: str) -> None:
    raise BadHierarchy(message)


def programming_error() -> None:
    raise KeyError("not a user error")


def sleeps(seconds: float) -> None:
    time.sleep(seconds)


def hogs_memory(mb: int) -> None:
    block = bytearray(mb * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])


def writes_stderr_fd() -> None:
    os.write(2, b"libpng warning: iCCP: known incorrect sRGB profile\n")


def writes_stderr_then_fails() -> None:
    sys.stderr.write("warning: something\n")
    raise BadHierarchy("one line")


def segfaults() -> None:
    ctypes.string_at(0)


def lists_dir(folder) -> str:
    names = sorted(p.name for p in folder.iterdir())
    return "accepted" if names == ["a.xml", "sub"] else "refused"
