"""What every detector gets: the shared timeline of the trace, the settings, and a way to make findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawler.detectors.finding import Finding, make_finding
from crawler.detectors.taxonomy import Settings, Taxonomy
from crawler.detectors.timeline import Timeline


@dataclass
class DetectorContext:
    """What every finding detector gets: the timeline of the trace, the thresholds, and a way to make findings."""

    timeline: Timeline
    settings: Settings
    taxonomy: Taxonomy

    def threshold(self, kind: str, name: str) -> float:
        return self.settings.get(kind, name)

    def finding(self, kind: str, key_seq: int, steps: list[int], metrics: dict[str, Any],
                confidence: float) -> Finding:
        tl = self.timeline
        steps = sorted(set(steps) | {key_seq})
        return make_finding(self.taxonomy[kind], package=tl.package, app_version=tl.app_version, key_step=key_seq,
                            time=tl.step(key_seq).t, run_start=tl.run_start_t, steps=steps,
                            screenshots=tl.screenshots(steps), metrics=metrics, confidence=confidence)
