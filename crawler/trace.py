"""The trace: the append-only record of a crawl, and the only input of detectors, graph, report and replay.

A trace is a sequence of `Step`s. `t` is device time in seconds (virtual on the simulator, wall clock on a phone,
always read from the device). `data` is JSON; its fields per kind are listed below and are a stable contract:
add fields freely, never change the meaning of one (old runs are re-analysed with new detectors).

kind            data fields
--------------  ------------------------------------------------------------------------------------------------
run_start       device {serial, state, model, manufacturer, android, sdk, rom, locale, fingerprint}, app {package, version_name,
                version_code, apk_sha256, label, signers [{scheme, subject, issuer, sha256, not_before, not_after}],
                apk_problem, apk_source, sdks} (apk_source: "given" = the --apk the crawl installed, "installed" = pulled
                from the device, where the app already was; label and signers: read from that APK; sdks: ids of the
                ad SDKs (crawler/lexicon/ad_sdks.yaml) its classes*.dex name, absent when no APK was read; apk_sha256
                "" and apk_problem when it could not be read), tool {name, version}, strategy, seed,
                settings {...}, reproduces {run, path, finding, kind, attempt, of} (a reproduction run only)
observation     package (in front), activity, pid (the app's, int|None), state (state key), scene
                (Scene.to_json()), xml (blob sha256), png (blob sha256 | None), app_in_front (the app, or a system
                dialog shown for it), screen_blank (the screenshot was black: FLAG_SECURE)
action          type (tap|long_tap|back|home|swipe|text|wait|launch|clear_data|kill_background), by (strategy |
                session), role (the Scene action role acted on, e.g. "deny"; "" for exploration), scene (kind acted
                on), state, permission (group, on permission dialogs and nags), target {bounds, text, resource_id}
                (taps: what the strategy chose), hit {point, window, window_package, bounds, text, resource_id,
                class, package} (taps: the node a tap at that point reaches on the screen read, crawler/hittest.py;
                no bounds when the window there has nothing clickable), widget (identity, exploration taps), reason, user_like (would a user do this? False for our
                own clear_data / kill_background), cold (launch only), seconds (wait), text (text), direction (swipe)
event           type (proc_start|proc_died|kill|crash|anr|activity_start|permission_request|app_died), package, pid,
                uid, reason (proc_start type: activity|broadcast|service|...), component, caller_uid, raw (the
                logcat line, bounded), source (logcat|poll). permission_request = the app started
                GrantPermissionsActivity (logged even when the system denies silently because of USER_FIXED);
                app_died = the crawler saw the app's pid vanish (source poll)
permissions     package, permissions {android.permission.X: {granted: bool, flags: [USER_SET, ...]}}
recovery        type (left_app|died|crashed|anr|stuck|bad_hierarchy), detail, escalation (stuck only:
                close|outside|back|relaunch|give_up, the step taken on a screen that stays the same)
run_end         reason (done|budget|steps|interrupted|device_lost|error), detail, steps, seconds
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
