"""Negation-aware, whole-word phrase matching on normalised, bounded strings.

"允许" inside "不允许" is not an allow and "allow" inside "Don't allow" is not an allow: a hit preceded by a negation
("不", "未", "don't", "not", ...) does not count. Latin phrases match whole words only ("agree" is not in
"disagree"); CJK phrases match anywhere, after whitespace between CJK characters is removed ("跳 过" == "跳过").
A phrase written "=x" matches only a label that is exactly "x" (for one-character closers like "×").
Patterns are escaped literals joined by "|": no backtracking blow-up on hostile text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crawler.screen import MAX_TEXT
from crawler.text_safety import comparable_text

_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")
_LATIN = re.compile(r"[a-z0-9]")
_CJK_NEGATIONS = ("不", "未", "别", "勿", "没", "莫", "非", "无")
_LATIN_NEGATION = re.compile(r"(?:^|[^a-z'])(?:don't|dont|do not|not|never|no|won't|cannot|can't|didn't)\s*$")


def match_form(text: str, limit: int = MAX_TEXT) -> str:
    """The form matchers compare: normalised (NFKC, quotes, casefold) with spaces between CJK characters removed."""
    form = comparable_text(text, limit)
    return _CJK_GAP.sub("", form) if " " in form else form


def form_of_clean(text: str) -> str:
    """match_form of a string already passed through text_safety.clean_screen_text()."""
    form = text.casefold()
    return _CJK_GAP.sub("", form) if " " in form else form


def _negated(text: str, start: int) -> bool:
    if start == 0:
        return False
    before = text[max(0, start - 12):start]
    if before[-1] in _CJK_NEGATIONS:
        return True
    return bool(_LATIN_NEGATION.search(before))


@dataclass
class PhraseSet:
    """A compiled list of phrases; `search` finds the first hit that is not negated."""

    phrases: tuple[str, ...]
    exact: frozenset[str]
    pattern: re.Pattern | None
    exact_pattern: re.Pattern | None = None  # the "=x" entries, matched against the whole form (fullmatch)

    @classmethod
    def of(cls, phrases: list[str] | tuple[str, ...]) -> PhraseSet:
        exact, parts = set(), []
        for raw in phrases:
            raw = str(raw)
            if raw.startswith("=") and len(raw) > 1:
                exact.add(match_form(raw[1:]))
                continue
            form = match_form(raw)
            if not form:
                continue
            parts.append((len(form), re.escape(form)))
        parts.sort(key=lambda p: -p[0])  # longest first: "don't allow" before "allow"
        pattern = re.compile("|".join(p for _, p in parts)) if parts else None
        exact_pattern = re.compile("|".join(re.escape(e) for e in sorted(exact, key=len, reverse=True))) \
            if exact else None
        return cls(phrases=tuple(phrases), exact=frozenset(exact), pattern=pattern, exact_pattern=exact_pattern)

    def search(self, form: str) -> re.Match | None:
        """The first non-negated, whole-word hit in `form` (a match_form string). Word boundaries are checked here,
        not in the regex, so that the pattern stays a plain alternation of literals (fast on long screens).
        An exact entry ("=ad") matches the whole form only: its match spans the form."""
        if self.exact_pattern is not None:
            whole = self.exact_pattern.fullmatch(form)
            if whole is not None:
                return whole
        if self.pattern is None:
            return None
        pos, end = 0, len(form)
        while pos <= end:
            m = self.pattern.search(form, pos)
            if m is None:
                return None
            start, stop = m.span()
            hit = m.group()
            whole = not (_LATIN.match(hit[0]) and start > 0 and _LATIN.match(form[start - 1])) and not (
                _LATIN.match(hit[-1]) and stop < end and _LATIN.match(form[stop]))
            if whole and not _negated(form, start):
                return m
            pos = start + 1
        return None

    def matches(self, form: str) -> bool:
        return form in self.exact or self.search(form) is not None

    def maybe_in(self, joined: str) -> bool:
        """A cheap screen-level prefilter: False only if no line of `joined` ("\n"-separated forms) can match."""
        if self.pattern is not None and self.pattern.search(joined):
            return True
        return any(f"\n{e}\n" in f"\n{joined}\n" for e in self.exact)


@dataclass
class RoleTable:
    """Ordered (role, phrases): a label gets the first role whose phrases it matches."""

    entries: tuple[tuple[str, PhraseSet], ...]

    @classmethod
    def of(cls, mapping: dict[str, list[str]]) -> RoleTable:
        return cls(tuple((role, PhraseSet.of(phrases)) for role, phrases in mapping.items()))

    def role_of(self, form: str) -> str | None:
        for role, phrases in self.entries:
            if phrases.matches(form):
                return role
        return None

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(role for role, _ in self.entries)


@dataclass
class PatternSet:
    """Regexes from the lexicon, applied to match_form strings (bounded length, simple patterns only)."""

    patterns: tuple[re.Pattern, ...]
    multiline: tuple[re.Pattern, ...]  # the same, with ^/$ at line ends: for the "\n"-joined screen prefilter

    @classmethod
    def of(cls, patterns: list[str]) -> PatternSet:
        return cls(tuple(re.compile(p) for p in patterns), tuple(re.compile(p, re.MULTILINE) for p in patterns))

    def search(self, form: str) -> bool:
        return any(p.search(form) for p in self.patterns)

    def maybe_in(self, joined: str) -> bool:
        return any(p.search(joined) for p in self.multiline)
