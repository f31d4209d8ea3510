"""The option sets shared by several commands, declared once. The crawl options (`crawl`, `lab run`, `lab submit`,
`reproduce`) take their defaults from crawler.crawl.CrawlOptions, the only copy of them; a command declares the
ones it takes with add_crawl_options and reads them back with crawl_options_from_args.

    add_crawl_options(p, CRAWL_FLAGS)                      # in the command's parser
    options = crawl_options_from_args(args)                # CrawlOptions; a bad --set fails here, one line
"""

from __future__ import annotations

import argparse
import re
from dataclasses import fields
from typing import Any, TypeVar

from crawler.crawl import CrawlOptions
from strategies import NAMES

DEFAULTS = CrawlOptions()
CRAWL_FLAGS = ("strategy", "budget", "idle", "steps", "seed", "keep_data", "ocr", "set")  # every one
LAB_FLAGS = ("strategy", "budget", "idle", "steps", "seed", "ocr", "set")  # a lab always starts from a clean state
JUDGE_FLAGS = ("ocr", "set")  # `reproduce`: the plan decides how long and how far

Options = TypeVar("Options", bound=CrawlOptions)


def duration(text: str) -> float:
    """'300s', '5m', '1h', '90' (seconds) -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text or "")
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: not a duration (examples: 300s, 5m, 1h)")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def add_set_option(p: argparse.ArgumentParser, help: str = "override a finding threshold, e.g. "
                   "--set quit_on_refusal.window_s=5 (see `naysayer kinds`)") -> None:
    p.add_argument("--set", action="append", metavar="KIND.NAME=VALUE", help=help)


def add_crawl_options(p: argparse.ArgumentParser, names: tuple[str, ...] = CRAWL_FLAGS,
                      strategies: tuple[str, ...] = NAMES) -> None:
    """Declare the crawl options `names` (CrawlOptions fields; `ocr` is given as --no-ocr) on `p`."""
    d = DEFAULTS
    if "strategy" in names:
        p.add_argument("--strategy", default=d.strategy, choices=strategies,
                       help=f"{d.strategy} (default): refuse every dialog, explore screen by screen; bfs: never accept "
                            "consent; random: seeded random taps"
                            + ("; replay: repeat a recorded run (--replay RUN)" if "replay" in strategies else ""))
    if "budget" in names:
        p.add_argument("--budget", type=duration, default=d.budget,
                       help=f"device time for exploration, per app (default {d.budget:g}s)")
    if "idle" in names:
        p.add_argument("--idle", type=duration, default=d.idle,
                       help=f"device time watched after exploration for self-starts (default {d.idle:g}s; 0 skips)")
    if "steps" in names:
        p.add_argument("--steps", type=int, default=d.steps, help=f"most actions to take (default {d.steps})")
    if "seed" in names:
        p.add_argument("--seed", type=int, default=d.seed, help=f"seed for --strategy random (default {d.seed})")
    if "keep_data" in names:
        p.add_argument("--keep-data", action="store_true", help="do not clear the app's data first")
    if "ocr" in names:
        p.add_argument("--no-ocr", action="store_true", help="never read pixels (faster; blind to drawn dialogs)")
    if "set" in names:
        add_set_option(p)


def crawl_options_from_args(args: argparse.Namespace, cls: type[Options] = CrawlOptions, **more: Any) -> Options:
    """The options the command line gave (the others keep their defaults). A bad --set raises SettingsError now,
    before any device is touched."""
    given: dict[str, Any] = {f.name: getattr(args, f.name) for f in fields(cls)
                             if f.name not in ("ocr", "set") and getattr(args, f.name, None) is not None}
    if hasattr(args, "no_ocr"):
        given["ocr"] = not args.no_ocr
    if hasattr(args, "set"):
        given["set"] = list(args.set or ())
    options = cls(**{**given, **more})
    options.thresholds()
    return options


def settings_from_args(args):
    """Finding thresholds from repeated `--set KIND.NAME=VALUE` options."""
    from crawler.detectors.taxonomy import Settings

    return Settings.from_cli(getattr(args, "set", None) or [])
