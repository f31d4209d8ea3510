"""The trace: the append-only record of a crawl, and the only input of detectors, graph, report and replay.

A trace is a sequence of `Step`s. `t` is device time in seconds (virtual on the simulator, wall clock on a phone,
always read from the device). `data` is JSON; its fields per kind are listed below and are a stable contract:
add fields freely, never change the meaning of one (old runs are re-analysed with new detectors).

kind            data fields
--------------  ------------------------------------------------------------------------------------------------
run_start       device {serial, model, android, sdk, rom, locale}, app {package, label, version_name,
                version_code, apk_sha256}, tool {name, version}, strategy, seed, settings {...}
observation     package, activity, pid (int|None), state (state key), scene (Scene.to_json()),
                xml (blob sha256), png (blob sha256 | None), app_in_front (bool)
action          type (tap|long_tap|back|home|swipe|text|launch|relaunch|force_stop|clear_data|wait),
                role (the Scene action role acted on, e.g. "deny"; "" for exploration), scene (kind acted on),
                permission (group, for permission dialogs), target {bounds, text, resource_id} (for taps),
                reason (why the strategy chose it), user_like (bool: would a user do this? False for e.g. a
                recovery back-press on the home screen or our own force-stop), cold (bool, launch only),
                seconds (wait only), text (text only), direction (swipe only)
event           type (proc_start|proc_died|kill|crash|anr|activity_start|permission_request|app_died), package, pid, uid, reason
                (proc_start type: activity|broadcast|service|...), component, caller_uid, caller_package, raw
                (the logcat line, bounded), source (logcat|poll). permission_request = the app started
                GrantPermissionsActivity (logged even when the system denies silently because of USER_FIXED);
                app_died = the crawler saw the app's pid vanish (source poll)
permissions     package, permissions {android.permission.X: {granted: bool, flags: [USER_SET, ...]}}
recovery        type (left_app|died|crashed|anr|stuck|relaunch|device_lost), detail
run_end         reason (budget|steps|done|interrupted|device_lost|error), detail, steps, seconds
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

STEP_KINDS = ("run_start", "observation", "action", "event", "permissions", "recovery", "run_end")
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Step:
    seq: int
    t: float
    kind: str
    data: dict[str, Any]


@dataclass
class Trace:
    """A whole run's steps in order, as detectors see it."""

    steps: list[Step] = field(default_factory=list)

    @property
    def start(self) -> dict[str, Any]:
        for step in self.steps:
            if step.kind == "run_start":
                return step.data
        return {}

    @property
    def package(self) -> str:
        return self.start.get("app", {}).get("package", "")

    def of(self, *kinds: str) -> Iterator[Step]:
        return (s for s in self.steps if s.kind in kinds)

    def after(self, seq: int) -> Iterator[Step]:
        return (s for s in self.steps if s.seq > seq)
