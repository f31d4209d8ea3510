"""A finding: one behaviour of the app, the trace steps and screenshots that show it, and the rule it relates to."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from crawler.detectors.taxonomy import FindingKind

TEXT_LIMIT = 200  # app text copied into a finding (hostile data): bounded


@dataclass(frozen=True)
class Finding:
    id: str  # unique in the run: kind + first step seq, e.g. "quit_on_refusal-42"
    kind: str
    package: str
    app_version: str
    time: float  # device time of the key step
    steps: tuple[int, ...]  # seqs, from trigger to effect
    screenshots: tuple[str, ...]  # png sha256 of the observations among the steps, in step order
    metrics: dict[str, Any]
    confidence: float  # 0..1
    basis: tuple[dict[str, str], ...]
    summary: str  # one line, en
    summary_zh: str
    severity: str = "medium"
    key_step: int = 0
    offset_s: float = 0.0  # seconds since the run started
    title: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"], data["screenshots"], data["basis"] = list(self.steps), list(self.screenshots), list(self.basis)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["steps"] = tuple(known.get("steps", ()))
        known["screenshots"] = tuple(known.get("screenshots", ()))
        known["basis"] = tuple(known.get("basis", ()))
        return cls(**known)


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def render_summary(template: str, values: dict[str, Any]) -> str:
    """Fill a taxonomy summary template; lists print comma-separated, text is bounded and kept on one line."""
    shown = _Blank()
    for key, value in values.items():
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value) or "none"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
        elif isinstance(value, float):
            value = f"{value:g}"
        shown[key] = " ".join(str(value).split())[:TEXT_LIMIT]
    try:
        return template.format_map(shown)
    except (ValueError, IndexError, AttributeError, KeyError):  # a malformed template must not hide the finding
        return template


def make_finding(spec: FindingKind, *, package: str, app_version: str, key_step: int, time: float, run_start: float,
                 steps: list[int], screenshots: list[str], metrics: dict[str, Any], confidence: float) -> Finding:
    ordered = tuple(sorted(set(steps)))
    values = {"package": package, **metrics}
    return Finding(
        id=f"{spec.kind}-{ordered[0] if ordered else key_step}", kind=spec.kind, package=package,
        app_version=app_version, time=time, steps=ordered, screenshots=tuple(screenshots), metrics=metrics,
        confidence=round(max(0.0, min(1.0, confidence)), 3), basis=tuple(b.to_json() for b in spec.basis),
        summary=render_summary(spec.summary["en"], values), summary_zh=render_summary(spec.summary["zh-CN"], values),
        severity=spec.severity, key_step=key_step, offset_s=round(time - run_start, 3), title=dict(spec.title),
    )
