"""The finding taxonomy (taxonomy.yaml) as typed data, and `Settings`: the thresholds a run is judged with.

The YAML is validated on load: every kind findings.md requires is present, every threshold says whether its number
comes from law or is ours, every basis carries a verification status. `Settings` starts from the documented defaults
and takes overrides from a dict (`{"quit_on_refusal.window_s": 5}` or nested) or CLI words (`quit_on_refusal.window_s=5`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from crawler.errors import UserError

REQUIRED_KINDS = (
    "quit_on_refusal", "refusal_loop", "reprompt_after_refusal", "unrelated_prompt_after_refusal",
    "upfront_permission_burst", "permission_before_consent", "no_purpose_explained", "consent_refusal_exit",
    "consent_no_refuse_option", "consent_prechecked", "popup_harassment", "splash_ad_no_skip", "close_countdown",
    "deceptive_close", "associated_launch", "self_start",
)
LANGUAGES = ("en", "zh-CN")
THRESHOLD_SOURCES = ("law", "OURS", "app_store")
BASIS_STATUSES = ("V", "V~", "P", "NF", "draft")
SEVERITIES = ("high", "medium", "low")
GENERAL = "general"


class TaxonomyError(UserError):
    """The taxonomy file is malformed: one line naming the entry and what is wrong."""


class SettingsError(UserError):
    """A threshold override names an unknown setting or gives a value that is not a number."""


@dataclass(frozen=True)
class Threshold:
    name: str
    default: float
    unit: str
    source: str  # law | OURS | app_store
    rule: str


@dataclass(frozen=True)
class LegalBasis:
    document: str
    item: str
    quote: str
    status: str
    note: str = ""

    def to_json(self) -> dict[str, str]:
        return {"document": self.document, "item": self.item, "quote": self.quote, "status": self.status,
                "note": self.note}


@dataclass(frozen=True)
class FindingKind:
    kind: str
    family: str
    severity: str
    title: dict[str, str]
    statement: dict[str, str]
    summary: dict[str, str]
    metrics: tuple[str, ...]
    thresholds: tuple[Threshold, ...]
    basis: tuple[LegalBasis, ...]


@dataclass(frozen=True)
class Taxonomy:
    version: int
    kinds: dict[str, FindingKind]
    general: tuple[Threshold, ...]

    def __getitem__(self, kind: str) -> FindingKind:
        return self.kinds[kind]

    def thresholds(self) -> dict[str, Threshold]:
        """Every threshold by its setting name (`kind.name`, or `general.name`)."""
        names = {f"{GENERAL}.{t.name}": t for t in self.general}
        for kind in self.kinds.values():
            names.update({f"{kind.kind}.{t.name}": t for t in kind.thresholds})
        return names


def _text(entry: Any, where: str) -> str:
    if not isinstance(entry, str):
        raise TaxonomyError(f"taxonomy: {where} must be text")
    return entry


def _languages(entry: Any, where: str) -> dict[str, str]:
    if not isinstance(entry, dict) or any(not isinstance(entry.get(lang), str) or not entry[lang] for lang in LANGUAGES):
        raise TaxonomyError(f"taxonomy: {where} needs non-empty texts for {', '.join(LANGUAGES)}")
    return {lang: entry[lang] for lang in LANGUAGES}


def _threshold(entry: Any, where: str) -> Threshold:
    if not isinstance(entry, dict):
        raise TaxonomyError(f"taxonomy: {where} must be a mapping")
    name = _text(entry.get("name"), f"{where}.name")
    default = entry.get("default")
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        raise TaxonomyError(f"taxonomy: {where} ({name}) default must be a number")
    source = entry.get("source")
    if source not in THRESHOLD_SOURCES:
        raise TaxonomyError(f"taxonomy: {where} ({name}) source must be one of {', '.join(THRESHOLD_SOURCES)}")
    return Threshold(name, float(default), _text(entry.get("unit"), f"{where}.unit"), source,
                     _text(entry.get("rule"), f"{where}.rule"))


def _basis(entry: Any, where: str) -> LegalBasis:
    if not isinstance(entry, dict):
        raise TaxonomyError(f"taxonomy: {where} must be a mapping")
    status = entry.get("status")
    if status not in BASIS_STATUSES:
        raise TaxonomyError(f"taxonomy: {where} status must be one of {', '.join(BASIS_STATUSES)}")
    return LegalBasis(_text(entry.get("document"), f"{where}.document"), _text(entry.get("item", ""), f"{where}.item"),
                      _text(entry.get("quote", ""), f"{where}.quote"), status, _text(entry.get("note", ""), f"{where}.note"))


def _kind(kind: str, entry: Any) -> FindingKind:
    if not isinstance(entry, dict):
        raise TaxonomyError(f"taxonomy: kind {kind} must be a mapping")
    if entry.get("severity") not in SEVERITIES:
        raise TaxonomyError(f"taxonomy: {kind}.severity must be one of {', '.join(SEVERITIES)}")
    basis = tuple(_basis(b, f"{kind}.basis[{i}]") for i, b in enumerate(entry.get("basis") or []))
    if not basis:
        raise TaxonomyError(f"taxonomy: {kind} has no legal basis")
    thresholds = tuple(_threshold(t, f"{kind}.thresholds[{i}]") for i, t in enumerate(entry.get("thresholds") or []))
    metrics = entry.get("metrics") or []
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise TaxonomyError(f"taxonomy: {kind}.metrics must be a list of names")
    return FindingKind(kind, _text(entry.get("family"), f"{kind}.family"), entry["severity"],
                       _languages(entry.get("title"), f"{kind}.title"),
                       _languages(entry.get("statement"), f"{kind}.statement"),
                       _languages(entry.get("summary"), f"{kind}.summary"), tuple(metrics), thresholds, basis)


def parse_taxonomy(text: str) -> Taxonomy:
    """Validate and type the taxonomy YAML."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"taxonomy: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("kinds"), dict):
        raise TaxonomyError("taxonomy: needs a 'kinds' mapping")
    kinds = {name: _kind(name, entry) for name, entry in data["kinds"].items()}
    missing = [k for k in REQUIRED_KINDS if k not in kinds]
    if missing:
        raise TaxonomyError(f"taxonomy: required kinds missing: {', '.join(missing)}")
    general = tuple(_threshold(t, f"general.thresholds[{i}]")
                    for i, t in enumerate((data.get(GENERAL) or {}).get("thresholds") or []))
    return Taxonomy(int(data.get("version", 1)), kinds, general)


@lru_cache(maxsize=1)
def load_taxonomy() -> Taxonomy:
    """The taxonomy shipped with the package."""
    return parse_taxonomy(resources.files(__package__).joinpath("taxonomy.yaml").read_text("utf-8"))


@dataclass(frozen=True)
class Settings:
    """Threshold values by setting name (`kind.name`); defaults from the taxonomy, overrides validated."""

    values: Mapping[str, float] = field(default_factory=dict)
    overridden: frozenset[str] = frozenset()

    @classmethod
    def defaults(cls, taxonomy: Taxonomy | None = None) -> Settings:
        taxonomy = taxonomy or load_taxonomy()
        return cls({name: t.default for name, t in taxonomy.thresholds().items()})

    @classmethod
    def from_dict(cls, overrides: Mapping[str, Any] | None, taxonomy: Taxonomy | None = None) -> Settings:
        """Overrides as `{"kind.name": value}` or `{"kind": {"name": value}}`."""
        base = cls.defaults(taxonomy)
        flat: dict[str, Any] = {}
        for key, value in (overrides or {}).items():
            if isinstance(value, Mapping):
                flat.update({f"{key}.{name}": v for name, v in value.items()})
            else:
                flat[str(key)] = value
        values, changed = dict(base.values), set()
        for name, value in flat.items():
            if name not in values:
                raise SettingsError(f"setting {name[:80]!r}: unknown (known: kind.name, e.g. quit_on_refusal.window_s)")
            values[name] = _number(name, value)
            changed.add(name)
        return cls(values, frozenset(changed))

    @classmethod
    def from_cli(cls, words: Iterable[str], taxonomy: Taxonomy | None = None) -> Settings:
        """Overrides as `kind.name=value` words (e.g. from repeated `--set` options)."""
        overrides = {}
        for word in words:
            name, sep, value = word.partition("=")
            if not sep:
                raise SettingsError(f"setting {word[:80]!r}: expected kind.name=value")
            overrides[name.strip()] = value.strip()
        return cls.from_dict(overrides, taxonomy)

    def get(self, kind: str, name: str) -> float:
        key = f"{kind}.{name}"
        if key not in self.values:
            raise SettingsError(f"setting {key!r}: unknown")
        return self.values[key]

    def to_json(self) -> dict[str, float]:
        return dict(sorted(self.values.items()))


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise SettingsError(f"setting {name}: {value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"setting {name}: {str(value)[:40]!r} is not a number") from None
    if math.isnan(number) or number < 0:
        raise SettingsError(f"setting {name}: must be a number >= 0")
    return number
