"""The report's UI strings (reports/strings.yaml) for one language."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from crawler.errors import UserError

STRINGS_FILE = Path(__file__).resolve().parents[1] / "strings.yaml"
FALLBACK = "en"


class UnknownLanguage(UserError, ValueError):
    """A report language that strings.yaml does not have."""


@lru_cache(maxsize=1)
def _load() -> dict[str, Any]:
    return yaml.safe_load(STRINGS_FILE.read_text(encoding="utf-8"))


def languages() -> tuple[str, ...]:
    return tuple(_load()["languages"])


def default_language() -> str:
    return str(_load()["default"])


@dataclass(frozen=True)
class Strings:
    lang: str

    @classmethod
    def of(cls, lang: str) -> Strings:
        if lang not in languages():
            raise UnknownLanguage(f"{str(lang)[:40]!r}: not a report language ({', '.join(languages())})")
        return cls(lang)

    def get(self, section: str, key: Any) -> str:
        """`section.key` in this language, else in English, else the key itself (an unknown type still shows)."""
        data = _load()
        key = str(key)
        for lang in (self.lang, FALLBACK):
            value = (data.get(lang, {}).get(section) or {}).get(key)
            if isinstance(value, str):
                return value
        return key

    def ui(self, key: str, **values: Any) -> str:
        """A UI string, with {name} fields filled (values are formatted, never parsed as markup)."""
        text = self.get("ui", key)
        return text.format(**values) if values else text

    @property
    def is_zh(self) -> bool:
        return self.lang.startswith("zh")
