"""What every `naysayer` command module shares: the consoles, argument types, JSON output, the usage error."""

from __future__ import annotations

import argparse
import json
import re
import sys

from crawler.console import stderr_console, stdout_console

console = stderr_console()  # progress and messages
out = stdout_console()  # results (tables, paths) that scripts may read


class UsageError(ValueError):
    """The command line is wrong: printed as one line, exit 2."""


def duration(text: str) -> float:
    """'300s', '5m', '1h', '90' (seconds) -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text or "")
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: not a duration (examples: 300s, 5m, 1h)")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def settings_from_args(args):
    """Finding thresholds from repeated `--set KIND.NAME=VALUE` options."""
    from crawler.detectors.taxonomy import Settings

    return Settings.from_cli(getattr(args, "set", None) or [])
