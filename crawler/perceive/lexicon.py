"""The vocabularies and vendor tables of crawler/lexicon/*.yaml, loaded once and compiled for matching."""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crawler.perceive.matching import PatternSet, PhraseSet, RoleTable
from crawler.perceive.scene import ACTION_ROLES, PERMISSION_GROUPS

LEXICON_DIR = Path(__file__).resolve().parent.parent / "lexicon"


class LexiconError(ValueError):
    """A lexicon file is missing or names an unknown role or permission group."""


def _load(name: str) -> dict[str, Any]:
    path = LEXICON_DIR / name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LexiconError(f"{path}: cannot read lexicon: {exc}") from None
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: expected a mapping at the top level")
    return data


def _roles(name: str, mapping: dict[str, list[str]]) -> RoleTable:
    for role in mapping:
        if role not in ACTION_ROLES:
            raise LexiconError(f"{LEXICON_DIR / name}: unknown action role {role!r}")
    return RoleTable.of(mapping)


def _id_roles(name: str, mapping: dict[str, str]) -> dict[str, str]:
    for role in mapping.values():
        if role not in ACTION_ROLES:
            raise LexiconError(f"{LEXICON_DIR / name}: unknown action role {role!r}")
    return {k.casefold(): v for k, v in mapping.items()}


@dataclass(frozen=True)
class IdGlobs:
    """Shell-style globs over resource-id names, as one compiled regex (casefolded)."""

    pattern: re.Pattern

    @classmethod
    def of(cls, globs: list[str]) -> IdGlobs:
        return cls(re.compile("|".join(f"(?:{fnmatch.translate(g.casefold())})" for g in globs)))

    def matches(self, id_name: str) -> bool:
        return bool(id_name) and self.pattern.match(id_name.casefold()) is not None


@dataclass(frozen=True)
class PermissionLexicon:
    packages: frozenset[str]
    id_roles: dict[str, str]
    dialog_ids: frozenset[str]
    generic_ids: frozenset[str]
    buttons: RoleTable
    dont_ask: PhraseSet
    titles: PatternSet
    special_access: PhraseSet
    groups: tuple[tuple[str, PhraseSet], ...]
    system_prefixes: tuple[str, ...]
    not_system: frozenset[str]
    deny_only_followup: PhraseSet = field(default_factory=lambda: PhraseSet.of([]))

    def is_system_package(self, package: str) -> bool:
        if package in self.packages:
            return True
        if not package or package in self.not_system:
            return False
        return any(package == p or (p.endswith(".") and package.startswith(p)) for p in self.system_prefixes)


@dataclass(frozen=True)
class DialogLexicon:
    """Consent, rationale and system dialogs share a shape: cues on screen, buttons by role."""

    cues: PhraseSet
    cue_patterns: PatternSet
    buttons: RoleTable
    max_button_chars: int = 24
    packages: frozenset[str] = frozenset()
    dialog_ids: frozenset[str] = frozenset()
    id_roles: dict[str, str] | None = None


@dataclass(frozen=True)
class Prompt:
    name: str
    cues: PhraseSet
    dismiss: PhraseSet
    cta: PhraseSet


@dataclass(frozen=True)
class AdLexicon:
    ad_cues: PhraseSet
    close_ids: IdGlobs
    close_descs: PhraseSet
    close_texts: PhraseSet
    prompts: tuple[Prompt, ...]
    skip_ids: IdGlobs
    skip_text: re.Pattern
    skip_excluded_words: PhraseSet
    skip_excluded_ids: tuple[str, ...]
    splash_excluded: PhraseSet
    splash_cues: PhraseSet
    splash_ids: IdGlobs
    promotion_cues: PhraseSet = field(default_factory=lambda: PhraseSet.of([]))
    ad_badges: PhraseSet = field(default_factory=lambda: PhraseSet.of([]))
    splash_not_with: PhraseSet = field(default_factory=lambda: PhraseSet.of([]))


@functools.cache
def permission_lexicon() -> PermissionLexicon:
    data = _load("permission.yaml")
    groups_data = _load("groups.yaml")
    for group in groups_data:
        if group not in PERMISSION_GROUPS:
            raise LexiconError(f"{LEXICON_DIR / 'groups.yaml'}: unknown permission group {group!r}")
    return PermissionLexicon(
        packages=frozenset(data["packages"]),
        id_roles=_id_roles("permission.yaml", data["id_roles"]),
        dialog_ids=frozenset(i.casefold() for i in data["dialog_ids"]),
        generic_ids=frozenset(i.casefold() for i in data.get("generic_ids", [])),
        buttons=_roles("permission.yaml", data["button_roles"]),
        dont_ask=PhraseSet.of(data["dont_ask_phrases"]),
        titles=PatternSet.of(data["title_patterns"]),
        special_access=PhraseSet.of(data["special_access"]),
        groups=tuple((g, PhraseSet.of([str(p) for p in phrases])) for g, phrases in groups_data.items()),
        system_prefixes=tuple(data.get("system_package_prefixes", [])),
        not_system=frozenset(data.get("not_system_packages", [])),
        deny_only_followup=PhraseSet.of(data.get("deny_only_followup", [])),
    )


def _dialog(name: str) -> DialogLexicon:
    data = _load(name)
    return DialogLexicon(
        cues=PhraseSet.of(data.get("cues", data.get("cue_phrases", []))),
        cue_patterns=PatternSet.of(data.get("cue_patterns", [])),
        buttons=_roles(name, data["button_roles"]),
        max_button_chars=int(data.get("max_button_chars", 24)),
        packages=frozenset(data.get("packages", [])),
        dialog_ids=frozenset(i.casefold() for i in data.get("dialog_ids", [])),
        id_roles=_id_roles(name, data.get("id_roles", {})),
    )


@functools.cache
def consent_lexicon() -> DialogLexicon:
    return _dialog("consent.yaml")


@functools.cache
def rationale_lexicon() -> DialogLexicon:
    return _dialog("rationale.yaml")


@functools.cache
def system_lexicon() -> DialogLexicon:
    return _dialog("system.yaml")


@functools.cache
def ad_lexicon() -> AdLexicon:
    data = _load("ads.yaml")
    prompts = tuple(
        Prompt(name, PhraseSet.of(p["cues"]), PhraseSet.of(p["dismiss"]), PhraseSet.of(p["cta"]))
        for name, p in data["prompts"].items()
    )
    return AdLexicon(
        ad_cues=PhraseSet.of(data["ad_cues"]),
        close_ids=IdGlobs.of(data["close_ids"]),
        close_descs=PhraseSet.of(data["close_descs"]),
        close_texts=PhraseSet.of(data["close_texts"]),
        prompts=prompts,
        skip_ids=IdGlobs.of(data["skip_ids"]),
        skip_text=re.compile(data["skip_text_pattern"]),
        skip_excluded_words=PhraseSet.of(data["skip_excluded_words"]),
        skip_excluded_ids=tuple(data["skip_excluded_ids"]),
        splash_excluded=PhraseSet.of(data["splash_excluded_cues"]),
        splash_cues=PhraseSet.of(data["splash_cues"]),
        splash_ids=IdGlobs.of(data["splash_ids"]),
        promotion_cues=PhraseSet.of(data.get("promotion_cues", [])),
        ad_badges=PhraseSet.of(data.get("pixel_ads", {}).get("badges", [])),
        splash_not_with=PhraseSet.of(data.get("splash_not_with", [])),
    )
