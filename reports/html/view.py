"""The report's view-model: plain data gathered from a run, with nothing left to compute in a template.

Strings here that came from the device or the app under test are hostile: they are bounded and stripped of control
characters when gathered, and the templates escape them (Jinja2 autoescape). Only `graph_svg` is markup, and it is
built by reports.graph_svg, which escapes every piece of text it writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.apk.signers import Signer


@dataclass(frozen=True)
class Shot:
    """A screenshot ready for the page: a data: URI (downscaled), or why there is none."""

    uri: str = ""
    width: int = 0  # the device screenshot's size in px (the coordinate space of tap bounds)
    height: int = 0
    missing: str = ""  # "", "missing", "unreadable", "omitted"


@dataclass(frozen=True)
class Mark:
    """The tapped control, as percentages of the screenshot (so the overlay scales with the image)."""

    left: float
    top: float
    width: float
    height: float


@dataclass
class TimelineEntry:
    seq: int
    offset_s: float  # device seconds since the run started
    kind: str  # step kind
    type: str = ""  # action/event/recovery type, or the scene kind of an observation
    role: str = ""
    permission: str = ""
    package: str = ""
    activity: str = ""
    texts: list[str] = field(default_factory=list)  # app text: the target's text, or the first lines on screen
    detail: str = ""  # our own words in the page's language (English ones only on English pages)
    device_text: str = ""  # what the device said (logcat reason and component, permission names and states)
    raw_detail: str = ""  # an error message as recorded (English), shown marked as such
    user_like: bool = True
    key: bool = False  # the finding's key step
    shot: Shot | None = None
    mark: Mark | None = None


@dataclass(frozen=True)
class Basis:
    document: str
    item: str
    quote: str
    status: str
    note: str = ""


@dataclass(frozen=True)
class ThresholdView:
    name: str
    value: float
    unit: str
    source: str
    label: str = ""  # in the page's language
    unit_label: str = ""
    source_label: str = ""


@dataclass
class FindingView:
    id: str
    kind: str
    title: str
    statement: str
    severity: str
    summary: str
    confidence: float
    offset_s: float
    key_step: int
    metrics: list[tuple[str, str]]
    basis: list[Basis]
    thresholds: list[ThresholdView]
    timeline: list[TimelineEntry]
    steps_omitted: int = 0
    graph_svg: str = ""
    summary_parts: list[tuple[str, bool]] = field(default_factory=list)  # (text, is app text), page's language
    metric_parts: list[tuple[str, list[tuple[str, bool]]]] = field(default_factory=list)  # (name, value segments)


@dataclass
class AppView:
    package: str = ""
    label: str = ""  # "" when the run did not record one
    version_name: str = ""
    version_truncated: bool = False  # the app's version name was longer than the report (or the run) keeps
    version_code: str = ""
    apk_sha256: str = ""
    apk_source: str = ""  # "given" (--apk) | "installed" (pulled from the device) | "" (not recorded)
    apk_problem: str = ""  # why the APK's label or signers could not be read (tool text, English)
    signers: list[Signer] = field(default_factory=list)
    signer_note: str = ""  # why the signers are unknown
    sdks: list[str] | None = None  # names of the ad SDKs its dex embeds; None: not recorded


@dataclass
class DeviceView:
    serial: str = ""
    model: str = ""
    manufacturer: str = ""
    android: str = ""
    sdk: str = ""
    rom: str = ""
    locale: str = ""
    fingerprint: str = ""


@dataclass
class ChainView:
    ok: bool
    chain_ok: bool
    steps: int
    head: str
    first_bad_seq: int | None = None
    reason: str = ""
    blob_problems: list[str] = field(default_factory=list)
    findings_state: str = "sealed"  # sealed | pending (never derived) | unsealed | tampered | stale | unchecked
    findings_problems: list[str] = field(default_factory=list)
    findings_count: int = 0
    detectors: str = ""
    findings_seq: int = 0  # the head the findings were derived from
    damage: str = ""  # where reading the steps stopped on a damaged database


@dataclass
class RunView:
    run_id: str
    app: AppView
    device: DeviceView
    tool: str
    strategy: str
    seed: str
    started: str  # ISO 8601 UTC, device clock
    ended: str
    duration_s: float
    created: str  # host clock
    end_reason: str
    end_detail: str
    chain: ChainView
    findings: list[FindingView]
    metrics: list[tuple[str, int]]
    end_detail_shown: tuple[str, bool] = ("", False)  # (text in the page's language or raw error, is raw English)
    graph_svg: str = ""
    graph_defs: str = ""  # the state thumbnails, defined once and used by every graph picture of the page
    graph_states: int = 0
    graph_shown: int = 0
    graph_files: list[tuple[str, str]] = field(default_factory=list)  # (format, relative address) of the exports
    graph: object = None  # the networkx graph itself, for the exports written beside the page (not rendered)


@dataclass
class IndexRow:
    run_id: str
    href: str = ""  # link to the run's own report, "" when none was written
    package: str = ""
    label: str = ""
    version: str = ""
    apk_sha256: str = ""
    device: str = ""
    serial: str = ""
    started: str = ""
    started_t: float = 0.0  # device clock, seconds (for the dashboard's ranking and timeline)
    duration_s: float = 0.0
    end_reason: str = ""
    findings: int = 0
    findings_derived: bool = True  # False: a run whose findings were never derived (not "0 findings")
    by_severity: dict[str, int] = field(default_factory=dict)
    kinds: list[str] = field(default_factory=list)
    error: str = ""  # the run could not be read: one line
    job_state: str = ""  # lab folders only: queued | running | done | failed, as `lab status` says
    attempts: int = 0
    job_error: str = ""  # why the lab's job failed
