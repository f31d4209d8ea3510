"""The two consoles every command prints to: results on stdout, progress and errors on stderr.

Piped into a file or another tool, tables keep whole words rather than the 80 columns rich assumes, and an error
message never wraps onto a second line.
"""

from __future__ import annotations

import sys

from rich.console import Console

PIPED_WIDTH = 200


def stdout_console() -> Console:
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else PIPED_WIDTH)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)
