"""The ad SDK registry (crawler/lexicon/ad_sdks.yaml): which SDK an activity, a view id or a dex class belongs to.

An SDK's ad activity in front, or its view ids inside a pop-up, make an ad whatever the ad says; the SDKs an APK
embeds are read from its dex class names (crawler/apk/dex.py) and recorded with the run.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from crawler.perceive.lexicon import IdGlobs, LexiconError, _load

MAX_NAME = 300


@dataclass(frozen=True)
class AdSdk:
    id: str
    name: str
    packages: tuple[str, ...]
    activities: frozenset[str]
    activity_prefixes: tuple[str, ...]
    view_ids: IdGlobs | None
    sources: tuple[str, ...]

    def owns_activity(self, activity: str) -> bool:
        return activity in self.activities or any(activity.startswith(p) for p in self.activity_prefixes)


@dataclass(frozen=True)
class AdSdkRegistry:
    sdks: tuple[AdSdk, ...]

    def by_activity(self, activity: str) -> AdSdk | None:
        """The SDK whose ad activity `activity` (a full class name) is."""
        if not activity or len(activity) > MAX_NAME:
            return None
        return next((s for s in self.sdks if s.owns_activity(activity)), None)

    def by_view_id(self, id_name: str) -> AdSdk | None:
        """The SDK whose layouts use the resource-id name `id_name` ("ksad_auto_close_btn")."""
        if not id_name or len(id_name) > MAX_NAME:
            return None
        return next((s for s in self.sdks if s.view_ids is not None and s.view_ids.matches(id_name)), None)

    def by_class(self, class_name: str) -> AdSdk | None:
        """The SDK a Java class ("com.qq.e.ads.ADActivity") belongs to, by its package prefix."""
        for sdk in self.sdks:
            for prefix in sdk.packages:
                if class_name.startswith(prefix) and (len(class_name) == len(prefix) or class_name[len(prefix)] == "."):
                    return sdk
        return None

    def package_prefixes(self) -> dict[str, str]:
        """Every package prefix -> SDK id."""
        return {p: s.id for s in self.sdks for p in s.packages}


@functools.cache
def ad_sdk_registry() -> AdSdkRegistry:
    data = _load("ad_sdks.yaml")
    sdks = []
    seen = set()
    for i, entry in enumerate(data.get("sdks") or []):
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("sources"):
            raise LexiconError(f"ad_sdks.yaml: sdks[{i}]: needs an id and at least one source")
        if entry["id"] in seen:
            raise LexiconError(f"ad_sdks.yaml: sdks[{i}]: duplicate id {entry['id']!r}")
        seen.add(entry["id"])
        globs = [str(g) for g in entry.get("view_ids") or []]
        sdks.append(AdSdk(
            id=str(entry["id"]), name=str(entry.get("name", entry["id"])),
            packages=tuple(str(p) for p in entry.get("packages") or []),
            activities=frozenset(str(a) for a in entry.get("activities") or []),
            activity_prefixes=tuple(str(p) for p in entry.get("activity_prefixes") or []),
            view_ids=IdGlobs.of(globs) if globs else None,
            sources=tuple(str(s) for s in entry["sources"]),
        ))
    return AdSdkRegistry(tuple(sdks))
