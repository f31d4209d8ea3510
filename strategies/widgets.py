"""Tappable widgets of an app screen, with identities that survive layout changes (used by exploration and replay)."""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path

import yaml

from crawler.hittest import reaches
from crawler.perceive.scene import Control
from strategies.base import Widget

LABEL_LIMIT = 60


@functools.cache
def avoided_labels() -> tuple[str, ...]:
    data = yaml.safe_load((Path(__file__).with_name("avoid.yaml")).read_text(encoding="utf-8"))
    return tuple(label.casefold() for label in data["labels"])


def identity_of(resource_id: str, cls: str, label: str) -> str:
    short_cls = cls.rsplit(".", 1)[-1]
    return f"{resource_id}|{short_cls}|{label[:LABEL_LIMIT]}"


def widgets_of(hierarchy, package: str) -> list[Widget]:
    """The app's clickable targets in reading order, each with a stable identity (id, class, label, ordinal).
    Only targets a tap at their centre reaches are offered: one covered by a higher window (an ad's window over the
    page) or by an overlay drawn after it is left out, keeping its ordinal so that identities stay stable."""
    seen: Counter = Counter()
    widgets = []
    targets = sorted(hierarchy.clickable_targets(), key=lambda w: (w.bounds[1], w.bounds[0]))
    for w in targets:
        if package and w.package and w.package != package:
            continue
        label = (w.label or w.inner_label()).strip()
        if any(bad in label.casefold() for bad in avoided_labels()):
            continue
        editable = "EditText" in w.cls
        # What we type changes an input's text: its identity is where it is, not what it says.
        base = identity_of(w.resource_id, w.cls, "" if editable else label)
        seen[base] += 1
        identity = f"{base}#{seen[base]}"
        if not reaches(hierarchy, w):
            continue
        control = Control(bounds=tuple(w.bounds), text=label[:200], resource_id=w.resource_id, enabled=w.enabled)
        widgets.append(Widget(identity=identity, control=control, cls=w.cls, long_clickable=w.long_clickable,
                              editable=editable))
    return widgets
