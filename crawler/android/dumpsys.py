"""Parsers for the `dumpsys` / `pm` outputs the crawler reads. Pure functions of text, tested on recorded output.

Output comes from a device we do not trust (an app can name its activities anything): every parser bounds what it
keeps and never evaluates what it reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_COMPONENT = r"([A-Za-z0-9_.]{1,200})/([A-Za-z0-9_.$]{1,300})"
_RESUMED = re.compile(r"(?:mResumedActivity|topResumedActivity|ResumedActivity)[:=]\s*ActivityRecord\{\S+ \S+ " + _COMPONENT)
_FOCUS = re.compile(r"mCurrentFocus=Window\{\S+ \S+ " + _COMPONENT)
_FOCUS_PKG_ONLY = re.compile(r"mCurrentFocus=Window\{\S+ \S+ ([A-Za-z0-9_.]{1,200})\}")
_PERMISSION = re.compile(r"^\s+([A-Za-z0-9_.]{1,200}): granted=(true|false)(?:, flags=\[\s*([A-Z_|0-9 ]*?)\s*\])?\s*$")
_VERSION_NAME = re.compile(r"^[ \t]+versionName=([^\n]*)$", re.MULTILINE)
MAX_VERSION_NAME = 100  # characters kept of an app's version name (the app chooses it: hostile, any length)
_VERSION_CODE = re.compile(r"^\s+versionCode=(\d+)", re.MULTILINE)


@dataclass(frozen=True)
class Foreground:
    package: str
    activity: str


@dataclass
class PackageState:
    package: str
    version_name: str = ""  # at most MAX_VERSION_NAME characters (then version_name_truncated)
    version_code: int = 0
    version_name_truncated: bool = False  # the app's version name was longer and was cut
    installed: bool = True
    permissions: dict[str, dict] = field(default_factory=dict)  # name -> {granted: bool, flags: [..]}


def expand_activity(package: str, activity: str) -> str:
    return package + activity if activity.startswith(".") else activity


def resumed_activity(dumpsys_activities: str) -> Foreground | None:
    """The resumed activity from `dumpsys activity activities`."""
    match = _RESUMED.search(dumpsys_activities)
    if not match:
        return None
    package, activity = match.groups()
    return Foreground(package, expand_activity(package, activity))


def focused_window(dumpsys_window: str) -> Foreground | None:
    """The focused window from `dumpsys window windows` (mCurrentFocus)."""
    match = _FOCUS.search(dumpsys_window)
    if match:
        package, activity = match.groups()
        return Foreground(package, expand_activity(package, activity))
    match = _FOCUS_PKG_ONLY.search(dumpsys_window)
    return Foreground(match.group(1), "") if match else None


def screen_size(wm_size: str) -> tuple[int, int] | None:
    """(width, height) from `wm size`: the override size when one is set (it is what apps are laid out in)."""
    sizes = {kind: (int(w), int(h)) for kind, w, h in re.findall(r"(Physical|Override) size: (\d+)x(\d+)", wm_size)}
    return sizes.get("Override") or sizes.get("Physical")


def version_name(raw: str) -> tuple[str, bool]:
    """(the version name as kept, whether it was cut): control and format characters dropped, at most
    MAX_VERSION_NAME characters. A 10,000-character name is kept as its first 100 and marked, never emptied."""
    text = "".join(ch for ch in raw[: MAX_VERSION_NAME * 4] if ch.isprintable()).strip()
    cut = len(text) > MAX_VERSION_NAME or len(raw) > MAX_VERSION_NAME * 4
    return text[:MAX_VERSION_NAME], cut


def package_state(package: str, dumpsys_package: str) -> PackageState:
    """Version and runtime permission state from `dumpsys package <pkg>`."""
    if f"Package [{package}]" not in dumpsys_package:
        return PackageState(package, installed=False)
    state = PackageState(package)
    if m := _VERSION_NAME.search(dumpsys_package):
        state.version_name, state.version_name_truncated = version_name(m.group(1))
    if m := _VERSION_CODE.search(dumpsys_package):
        state.version_code = int(m.group(1))
    in_runtime = False
    for line in dumpsys_package.splitlines():
        stripped = line.strip()
        if stripped.endswith("permissions:"):
            in_runtime = stripped == "runtime permissions:"
            continue
        if not in_runtime:
            continue
        match = _PERMISSION.match(line)
        if not match:
            if stripped and not stripped.startswith(("android.", "com.")) and ":" in stripped:
                in_runtime = False
            continue
        name, granted, flags = match.groups()
        if len(state.permissions) < 500:
            state.permissions[name] = {
                "granted": granted == "true",
                "flags": sorted(f for f in (flags or "").replace(" ", "").split("|") if f),
            }
    return state
