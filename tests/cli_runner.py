"""Running `naysayer` as a user does, in a child process, and what its one-line errors look like."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def naysayer(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    # ANDROID_ADB_SERVER_PORT (set by conftest for integration tests) points the child at the test adb server.
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout, check=False)


def one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    """Bad input: exit 2, exactly one line on stderr naming what is wrong, never a traceback."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("naysayer: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
