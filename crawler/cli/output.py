"""Where a command's words go: results (tables, paths, JSON) on stdout, which scripts may read; progress and
messages on stderr."""

from __future__ import annotations

import json
import sys

from crawler.console import stderr_console, stdout_console

console = stderr_console()  # progress and messages
out = stdout_console()  # results (tables, paths) that scripts may read


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
