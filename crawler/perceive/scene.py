"""What is on screen, as perception reports it to strategies and to the trace.

`Scene.kind` is one of SCENE_KINDS (the `SceneKind` string enum of crawler.trace). `actions` maps a role to the
control that performs it; strategies choose by
role ("deny"), never by text, so the same strategy works on every ROM and language.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from crawler.trace import SceneKind

SCENE_KINDS = tuple(SceneKind)  # the vocabulary lives with the trace that records it (crawler.trace)

# Roles an action can have. Permission dialogs: deny, deny_dont_ask, allow, allow_foreground, allow_once,
# allow_always, dont_ask_checkbox. Consent: accept, refuse, browse (browse-only / guest / basic mode).
# Rationale: settings (go to settings), not_now, grant (continue to the system request), exit.
# Ads: close, skip, cta (the ad's call to action). System dialogs: close_app, wait, ok.
# Where an action's control was found: a hierarchy node, an OCR text line (its box), a vision shape (an X cross).
ACTION_SOURCES = ("hierarchy", "ocr", "vision")

ACTION_ROLES = (
    "deny", "deny_dont_ask", "allow", "allow_foreground", "allow_once", "allow_always", "dont_ask_checkbox",
    "accept", "refuse", "browse",
    "settings", "not_now", "grant", "exit",
    "close", "skip", "cta",
    "close_app", "wait", "ok",
)

PERMISSION_GROUPS = (
    "location", "camera", "microphone", "contacts", "storage", "phone", "sms", "calendar", "notifications",
    "nearby_devices", "body_sensors", "activity_recognition", "call_log",
)

Bounds = tuple[int, int, int, int]


@dataclass
class Control:
    """A control perception found: where to tap, and what it says."""

    bounds: Bounds
    text: str = ""
    resource_id: str = ""
    enabled: bool = True
    source: str = "hierarchy"  # where perception found it: hierarchy | ocr | vision (see ACTION_SOURCES)

    @property
    def center(self) -> tuple[int, int]:
        x1, y1, x2, y2 = self.bounds
        return (x1 + x2) // 2, (y1 + y2) // 2


@dataclass
class Checkbox:
    bounds: Bounds
    text: str
    checked: bool


@dataclass
class Scene:
    kind: str
    package: str = ""  # the package of the window that shows it (permission controller, the app, ...)
    permission: str | None = None  # permission group for permission dialogs and rationale nags
    actions: dict[str, Control] = field(default_factory=dict)
    checkboxes: list[Checkbox] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # the lines read, normalised, bounded
    dialog_text: list[str] = field(default_factory=list)  # the lines inside dialog_bounds (what the dialog says)
    countdown: int | None = None  # seconds shown on a skip control ("跳过 3")
    source: str = "hierarchy"  # hierarchy | ocr | hierarchy+ocr
    confidence: float = 1.0
    dialog_bounds: Bounds | None = None
    pixel_error: str | None = None  # the screenshot could not be used (corrupt, truncated, not an image...): why
    popup: str | None = None  # ad_popup only: ad, promotion, update, rating, notification, youth_mode, install, unknown
    ad_sdk: str | None = None  # the ad SDK (crawler/lexicon/ad_sdks.yaml id) whose activity or views show it

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["actions"] = {role: asdict(c) for role, c in self.actions.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scene:
        data = dict(data)
        data["actions"] = {r: Control(**{**c, "bounds": tuple(c["bounds"])}) for r, c in data.get("actions", {}).items()}
        data["checkboxes"] = [Checkbox(**{**c, "bounds": tuple(c["bounds"])}) for c in data.get("checkboxes", [])]
        if data.get("dialog_bounds") is not None:
            data["dialog_bounds"] = tuple(data["dialog_bounds"])
        return cls(**data)
