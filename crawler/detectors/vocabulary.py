"""The detectors' vocabulary (vocabulary.yaml): package roles, permission names -> groups, words naming a group."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class Vocabulary:
    permission_controllers: frozenset[str]
    launchers: frozenset[str]
    system_packages: frozenset[str]
    permission_groups: dict[str, str]  # "CAMERA" -> "camera"
    group_words: dict[str, tuple[str, ...]]
    purpose_markers: tuple[str, ...]
    consent_checkbox_words: tuple[str, ...]
    landing_activity_words: tuple[str, ...]
    leave_app_words: tuple[str, ...]

    def group_of(self, permission: str) -> str | None:
        """android.permission.CAMERA (or CAMERA) -> camera; None when unknown."""
        return self.permission_groups.get(permission.rsplit(".", 1)[-1])

    def groups_named(self, text: str) -> set[str]:
        lowered = text.lower()
        return {group for group, words in self.group_words.items() if any(w in lowered for w in words)}

    def states_purpose(self, text: str) -> bool:
        lowered = text.lower()
        return any(marker in lowered for marker in self.purpose_markers)

    def is_consent_checkbox(self, text: str) -> bool:
        lowered = text.lower()
        return any(word in lowered for word in self.consent_checkbox_words)

    def is_landing_activity(self, activity: str) -> bool:
        lowered = activity.rsplit(".", 1)[-1].lower()
        return any(word in lowered for word in self.landing_activity_words)


    def asks_to_leave(self, label: str) -> bool:
        lowered = (label or "").lower()
        return any(word in lowered for word in self.leave_app_words)


def _words(values) -> tuple[str, ...]:
    return tuple(str(v).lower() for v in values or ())


@lru_cache(maxsize=1)
def load_vocabulary() -> Vocabulary:
    data = yaml.safe_load(resources.files(__package__).joinpath("vocabulary.yaml").read_text("utf-8"))
    return Vocabulary(
        permission_controllers=frozenset(data["permission_controllers"]),
        launchers=frozenset(data["launchers"]),
        system_packages=frozenset(data["system_packages"]),
        permission_groups={str(k): str(v) for k, v in data["permission_groups"].items()},
        group_words={g: _words(w) for g, w in data["group_words"].items()},
        purpose_markers=_words(data["purpose_markers"]),
        consent_checkbox_words=_words(data["consent_checkbox_words"]),
        landing_activity_words=_words(data["landing_activity_words"]),
        leave_app_words=_words(data["leave_app_words"]),
    )
