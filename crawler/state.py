"""The state abstraction: which screen is this, for exploration bookkeeping and the state graph.

A state key is a short hex digest of the screen's STRUCTURE:
- the foreground package (given, else the packages of the windows) and the activity, if given;
- the scene kind;
- the multiset of (class, resource-id, depth bucket, clickable) over the nodes of the app and dialog windows, with
  repeats capped (REPEAT_CAP) so a list of 10 rows and one of 12 rows are the same screen. (Not "presence only
  inside scrolling containers": apps, and the zoo, wrap whole pages in a ScrollView, and that would merge pages.)
  System decoration windows (status bar, navigation bar) and input methods are left out: their clock, notification
  icons and keyboard candidates change all the time.
Text is left out (clocks, counters, prices, feeds change all the time), and so are bounds (they jitter), except for
dialogs and screens read from pixels, where the STATIC text is the identity: two dialogs on the same layout (camera
vs location, consent vs ad) must not merge. Digits are masked in that text, so a countdown ("跳过 3", "跳过 2"), a
clock or a price does not make a new state.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from crawler.perceive.scene import Scene
from crawler.screen import Hierarchy, Window, parse_hierarchy
from crawler.text_safety import comparable_text

REPEAT_CAP = 3  # identical nodes beyond this count (list rows) do not change the state
DEPTH_BUCKET = 2  # depths 4 and 5 are the same bucket: a wrapper layout more or less is not a new screen
DEPTH_CAP = 40
TEXT_LINES = 12  # lines of dialog text that make its identity
TEXT_CHARS = 80
KEY_CHARS = 16
DIGITS = re.compile(r"[0-9０-９]+([.,:：][0-9０-９]+)*")
DECOR_PACKAGES = ("com.android.systemui",)  # status bar, navigation bar, notification icons
DIALOG_KINDS = ("permission_dialog", "consent_dialog", "rationale_dialog", "ad_popup", "splash_ad", "system_dialog")


def _is_decor(package: str) -> bool:
    return package in DECOR_PACKAGES or "inputmethod" in package or package.endswith(".ime")


def _windows(hierarchy: Hierarchy) -> list[Window]:
    """The windows that make the screen: all but decoration, unless decoration is all there is (a pulled shade)."""
    kept = [w for w in hierarchy.windows if not _is_decor(w.package)]
    return kept or list(hierarchy.windows)


def _structure(hierarchy: Hierarchy) -> list[str]:
    counts: Counter[str] = Counter()
    roots = [w.root for w in _windows(hierarchy)] or [w for w in hierarchy.widgets if w.parent is None]
    for root in roots:
        for w in root.walk():
            cls = w.cls.rsplit(".", 1)[-1]
            counts[f"{cls}|{w.resource_id}|{min(w.depth, DEPTH_CAP) // DEPTH_BUCKET}|{int(w.clickable)}"] += 1
    return sorted(f"{token}*{min(n, REPEAT_CAP)}" for token, n in counts.items())


def _static(line: str) -> str:
    return DIGITS.sub("#", comparable_text(line, TEXT_CHARS * 2))[:TEXT_CHARS]


def _lines(lines: list[str]) -> list[str]:
    kept = (_static(line) for line in lines[: TEXT_LINES * 2])
    return sorted({line for line in kept if line.strip("# ")})[:TEXT_LINES]


def _dialog_identity(scene: Scene) -> list[str]:
    parts = [f"perm={scene.permission or ''}", "roles=" + ",".join(sorted(scene.actions))]
    buttons = [c.text for c in scene.actions.values() if c.text]
    return parts + _lines(list(scene.text) + buttons)


def _top_window_text(hierarchy: Hierarchy) -> list[str]:
    """The text of the topmost window (the dialog) when only the scene kind is known."""
    windows = _windows(hierarchy)
    if not windows:
        return []
    return _lines([w.label for w in windows[-1].widgets() if w.label])


def state_key(screen: Hierarchy | str | bytes, scene: Scene | str | None = None, package: str = "", *,
              activity: str = "") -> str:
    """The state of a screen. `screen`: a parsed Hierarchy (crawler.screen) or the dump's XML (parsed hardened;
    raises crawler.screen.BadHierarchy). `scene`: the Scene perception made of it, or just its kind, or None."""
    hierarchy = screen if isinstance(screen, Hierarchy) else parse_hierarchy(screen)
    kind = scene.kind if isinstance(scene, Scene) else (scene or "")
    pkg = package or ",".join(w.package for w in _windows(hierarchy))
    parts = [f"pkg={pkg}", f"act={activity}", f"scene={kind}"]
    parts += _structure(hierarchy)
    if isinstance(scene, Scene):
        if kind != "app" or scene.source != "hierarchy":  # a dialog, or a screen known only from its pixels
            parts += _dialog_identity(scene)
    elif kind in DIALOG_KINDS:
        parts += _top_window_text(hierarchy)
    return hashlib.sha1("\n".join(parts).encode("utf-8", "replace")).hexdigest()[:KEY_CHARS]
