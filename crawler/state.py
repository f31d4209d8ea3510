"""The state abstraction: which screen is this, for exploration bookkeeping and the state graph.

The key comes from the screen's structure: the foreground package, the scene kind, and the multiset of
(class, resource-id, depth, clickable) over the nodes, with repeats capped so a list of 10 rows and one of 12 rows
are the same screen. Text is left out (clocks, counters, prices, feeds change all the time), except for dialogs and
for screens read from pixels, where the static text IS the identity: two dialogs on the same layout (camera vs
location, consent vs ad) must not merge. Digits are dropped from that text, so a countdown ("跳过 3", "跳过 2") or a
clock does not make a new state.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from crawler.perceive.scene import Scene
from crawler.screen import Hierarchy, normalize, parse_hierarchy

REPEAT_CAP = 3  # identical nodes beyond this count (list rows) do not change the state
TEXT_LINES = 12
DIGITS = re.compile(r"[0-9０-９]+")


def _structure(hierarchy: Hierarchy) -> list[str]:
    counts: Counter = Counter()
    for w in hierarchy.widgets:
        cls = w.cls.rsplit(".", 1)[-1]
        counts[f"{cls}|{w.resource_id}|{min(w.depth, 30)}|{int(w.clickable)}"] += 1
    return sorted(f"{token}*{min(n, REPEAT_CAP)}" for token, n in counts.items())


def _static_text(scene: Scene) -> list[str]:
    lines = (DIGITS.sub("#", normalize(line)) for line in scene.text[:TEXT_LINES])
    return sorted({line for line in lines if line.strip("# ")})


def state_key(screen: Hierarchy | str | bytes, scene: Scene | None = None, package: str = "") -> str:
    hierarchy = screen if isinstance(screen, Hierarchy) else parse_hierarchy(screen)
    parts = [package, scene.kind if scene else ""]
    parts += _structure(hierarchy)
    if scene is not None and (scene.kind != "app" or scene.source != "hierarchy"):
        parts.append(f"perm={scene.permission or ''}")
        parts += _static_text(scene)
    return hashlib.sha1("\n".join(parts).encode("utf-8")).hexdigest()[:16]
