"""Detectors: pure functions of a recorded trace that turn it into findings (see taxonomy.yaml for the kinds).

`detect(trace, settings)` runs every detector in `DETECTORS` on one shared `Timeline` of the trace and returns the
findings at or above the `general.min_confidence` setting, sorted by time. No I/O: crawler.analyze reads
the run store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from crawler.detectors import consent, launches, permissions, popups, refusal
from crawler.detectors.context import DetectorContext
from crawler.detectors.finding import Finding
from crawler.detectors.taxonomy import Settings, Taxonomy, load_taxonomy
from crawler.detectors.timeline import Timeline
from crawler.trace import Trace

FindingDetector = Callable[[DetectorContext], list[Finding]]

DETECTORS: dict[str, FindingDetector] = {
    "quit_on_refusal": refusal.quit_on_refusal,
    "refusal_loop": refusal.refusal_loop,
    "reprompt_after_refusal": refusal.reprompt_after_refusal,
    "unrelated_prompt_after_refusal": refusal.unrelated_prompt_after_refusal,
    "upfront_permission_burst": permissions.upfront_permission_burst,
    "no_purpose_explained": permissions.no_purpose_explained,
    "permission_before_consent": consent.permission_before_consent,
    "consent_refusal_exit": consent.consent_refusal_exit,
    "consent_no_refuse_option": consent.consent_no_refuse_option,
    "consent_prechecked": consent.consent_prechecked,
    "popup_harassment": popups.popup_harassment,
    "splash_ad_no_skip": popups.splash_ad_no_skip,
    "close_countdown": popups.close_countdown,
    "deceptive_close": popups.deceptive_close,
    "associated_launch": launches.associated_launch,
    "self_start": launches.self_start,
}

__all__ = ["DETECTORS", "Finding", "Settings", "detect"]


def detect(trace: Trace, settings: Settings | None = None, taxonomy: Taxonomy | None = None,
           kinds: list[str] | None = None) -> list[Finding]:
    """All findings of a trace, deterministic: the same trace gives the same findings with the same ids."""
    taxonomy = taxonomy or load_taxonomy()
    settings = settings or Settings.defaults(taxonomy)
    if not trace.steps:
        return []
    timeline = Timeline(trace, user_trigger_window_s=settings.get("general", "user_trigger_window_s"))
    ctx = DetectorContext(timeline, settings, taxonomy)
    floor = settings.get("general", "min_confidence")
    findings: list[Finding] = []
    for kind, detector in DETECTORS.items():
        if kinds is None or kind in kinds:
            findings.extend(f for f in detector(ctx) if f.confidence >= floor)
    findings.sort(key=lambda f: (f.time, f.key_step, f.kind, f.id))
    return _unique_ids(findings)


def _unique_ids(findings: list[Finding]) -> list[Finding]:
    seen: dict[str, int] = {}
    unique = []
    for finding in findings:
        n = seen.get(finding.id, 0)
        seen[finding.id] = n + 1
        unique.append(finding if n == 0 else replace(finding, id=f"{finding.id}.{n + 1}"))
    return unique
