"""Our words in the page's language: a finding's summary, its metric names and values, thresholds and the details the
crawler recorded in English (why a run ended), from the string tables (reports/strings.yaml).

App text stays app text: a summary or a metric value is a list of segments (text, is_app), and the template puts the
app's own words (package names, dialog and button text) in `.app-text` elements. Values the tables do not know are
shown as recorded, as app text.
"""

from __future__ import annotations

import re
import string
from typing import Any

from crawler.detectors.taxonomy import FindingKind
from crawler.text_safety import export_text
from reports.html.strings import Strings

Segment = tuple[str, bool]  # (text, is the app's or the device's own words)

APP_METRICS = {"package", "dialog_text", "control_text", "text_seen", "widget", "buttons", "front_package",
               "target_package", "what_opened"}
PERMISSION_METRICS = {"permission", "denied", "groups", "permissions"}
KEYED_BY_PERMISSION = {"seconds_from_launch", "seconds_after_denial"}
VALUE_CHARS = 300

# run_end details the crawl writes in English (crawler/session.py), as patterns -> string-table keys
END_DETAILS = (
    (re.compile(r"the app left the foreground (?P<n>\d+) times"), "left_foreground"),
    (re.compile(r"(?P<n>[\d.]+) s of device time used"), "budget_used"),
    (re.compile(r"(?P<n>\d+) steps taken"), "steps_taken"),
    (re.compile(r"stopped by the user"), "stopped_by_user"),
    (re.compile(r"replay finished"), "replay_finished"),
)
TRIGGERS = (
    (re.compile(r"no action"), "no_action"),
    (re.compile(r"at cold launch"), "at_cold_launch"),
    (re.compile(r"at launch"), "at_launch"),
    (re.compile(r"while idle"), "while_idle"),
)


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _word(strings: Strings, value: Any) -> Segment:
    """One enum-like word: a permission group, scene, role, action or value the tables know; else as recorded."""
    text = str(value)
    for section in ("value", "permission", "scene", "role", "action", "event"):
        if _known(section, text):
            return strings.get(section, text), False
    return export_text(text, VALUE_CHARS), True


def _known(section: str, key: str) -> bool:
    from reports.html.strings import _load

    return key in (_load().get("en", {}).get(section) or {})


def _trigger(strings: Strings, text: str) -> list[Segment]:
    for pattern, key in TRIGGERS:
        if pattern.fullmatch(text):
            return [(strings.get("trigger", key), False)]
    if text.startswith("after "):
        words = text[len("after "):].split()
        return [(strings.get("trigger", "after"), False)] + [seg for w in words for seg in ((" ", False),
                                                                                          _word(strings, w))]
    return [(export_text(text, VALUE_CHARS), True)]


def value_segments(name: str, value: Any, strings: Strings) -> list[Segment]:
    """A finding metric's value in the page's language."""
    sep = strings.get("value", "list_sep")
    if isinstance(value, bool):
        return [(strings.get("value", "yes" if value else "no"), False)]
    if isinstance(value, (int, float)):
        return [(_number(value), False)]
    if isinstance(value, dict):
        if not value:
            return [(strings.get("value", "none"), False)]
        out: list[Segment] = []
        for i, (key, item) in enumerate(list(value.items())[:20]):
            if i:
                out.append((sep, False))
            if name in KEYED_BY_PERMISSION:
                out.append((strings.get("permission", key), False))
            elif name == "per_launch":
                out.append((strings.get("value", "launch_n").format(n=key), False))
            else:
                out.append(_word(strings, key))
            out.append((": ", False))
            out += value_segments("", item, strings)
        return out
    if isinstance(value, (list, tuple)):
        if not value:
            return [(strings.get("value", "none"), False)]
        out = []
        for i, item in enumerate(list(value)[:20]):
            if i:
                out.append((sep, False))
            out += value_segments(name, item, strings)
        return out
    text = export_text(value, VALUE_CHARS)
    if name in APP_METRICS:
        return [(text, True)]
    if name in PERMISSION_METRICS:
        return [(strings.get("permission", text), False)]
    if name == "trigger":
        return _trigger(strings, text)
    if name == "options":  # "role: button text"
        role, _, label = text.partition(": ")
        return [(strings.get("role", role), False)] + ([(": ", False), (label, True)] if label else [])
    return [_word(strings, text)]


def summary_segments(spec: FindingKind | None, metrics: dict[str, Any], package: str, strings: Strings,
                     recorded: str) -> list[Segment]:
    """The finding's one-line summary from the taxonomy's template in this language, with localized values; the
    recorded summary (as app text) when the kind is unknown or the template cannot be filled."""
    template = spec.summary.get(strings.lang) if spec else None
    if not template:
        return [(recorded, True)] if recorded else []
    values = dict(metrics, package=package)
    out: list[Segment] = []
    try:
        for literal, field, _, _ in string.Formatter().parse(template):
            if literal:
                out.append((literal, False))
            if field is not None:
                out += value_segments(field, values[field], strings) if field in values else [("?", False)]
    except (ValueError, KeyError, IndexError):
        return [(recorded, True)] if recorded else []
    return out


def end_detail(reason: str, detail: str, strings: Strings) -> tuple[str, bool]:
    """Why the run ended, in the page's language: (text, is_raw). Our known phrases are translated; an error message
    (error, device_lost) stays as recorded (raw, marked as English); other phrases show only on English pages."""
    if not detail:
        return "", False
    for pattern, key in END_DETAILS:
        match = pattern.fullmatch(detail)
        if match:
            return strings.get("end_detail", key).format(**match.groupdict()), False
    if strings.lang == "en":
        return detail, False
    if reason in ("error", "device_lost"):
        return detail, True
    return "", False
