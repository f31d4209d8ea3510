"""One crawl, end to end, and the options it takes. Every command that crawls (`crawl`, `lab run`, `lab worker`, `demo`,
`reproduce`) comes through here:

    options = CrawlOptions(budget=120, idle=0)            # the only copy of every crawl default
    crawl = run_crawl(options, device, "com.example.app", Path("runs"))
    crawl.run, crawl.reason, crawl.findings                # runs/<run-id>, "budget", [Finding, ...]

run_crawl is the only code that builds the strategy, the OCR engine, the run store and the session and derives the
findings. What the run records of the APK (sha256, label, signers) is the APK the caller installed, else the one
installed on the device, pulled (crawler.apk.installed): every run says which app it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:  # imported where used: the CLI reads the defaults below without loading the crawler
    from crawler.apk import ApkFacts
    from crawler.detectors.finding import Finding
    from crawler.detectors.taxonomy import Settings
    from crawler.device import AndroidDevice
    from crawler.store import RunStore
    from strategies.base import Strategy

@dataclass(frozen=True)
class CrawlOptions:
    """How an app is crawled. Recorded in the run (run_start `settings`) and, for a lab, in lab.sqlite."""

    strategy: str = "deny"  # deny, bfs, random (replay needs the recorded actions: crawl --replay RUN)
    budget: float = 300.0  # device seconds of exploration
    steps: int = 400  # decisions at most
    idle: float = 900.0  # device seconds watched after exploration, app killed, for self-starts (0 skips)
    seed: int = 0  # for the random strategy
    keep_data: bool = False  # do not clear the app's data first
    ocr: bool = True  # read pixels where the hierarchy is blind
    set: list[str] = field(default_factory=list)  # finding threshold overrides, `KIND.NAME=VALUE`
    quit_window: float = 10.0  # seconds watched after every refusal
    watch_poll: float = 1.0
    settle_poll: float = 0.3
    settle_max: float = 3.0
    max_relaunches: int = 4  # relaunches after the app itself left; exits we caused do not count
    idle_poll: float = 60.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "set", list(self.set or ()))  # as stored in JSON

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """Options as stored; keys this version does not know are ignored, missing ones take the default."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def thresholds(self) -> Settings:
        """The finding thresholds with the `set` overrides (a bad one raises SettingsError)."""
        from crawler.detectors.taxonomy import Settings

        return Settings.from_cli(self.set)


@dataclass
class Crawl:
    """What a crawl left: its run directory, why it ended, and the findings derived from it."""

    run: Path
    reason: str
    detail: str
    findings: list[Finding] = field(default_factory=list)


def recorded_actions(run: Path) -> list[dict]:
    """The action steps of a recorded run, for --strategy replay."""
    from crawler.store import RunStore

    with RunStore.open(run) as store:
        return [dict(step.data, seq=step.seq) for step in store.trace().of("action")]


def derive_findings(store: RunStore, settings: Settings | None = None) -> list[Finding]:
    """Run the detectors over the run's trace and store what they find in the run (sealed to the trace head)."""
    from crawler.detectors import detect

    findings = detect(store.trace(), settings)
    store.write_findings([f.to_json() for f in findings])
    return findings


def run_crawl(options: CrawlOptions, device: AndroidDevice, package: str, out: Path, *,
              apk: ApkFacts | None = None, run_id: str | None = None, strategy: Strategy | None = None,
              replay_actions: list[dict] | None = None, start_links: dict[str, Any] | None = None,
              on_progress: Callable[[dict], None] | None = None,
              on_created: Callable[[Path], None] | None = None) -> Crawl:
    """Crawl `package` (installed on `device`) into a new run in `out` and derive its findings.

    apk: what was read of the APK the caller installed; None pulls the installed one. strategy: a ready strategy
    (reproduce's planned replay) instead of options.strategy. on_created(run) is called once the run exists."""
    from crawler.apk.installed import installed_apk_facts
    from crawler.session import Session
    from crawler.store import RunStore
    from strategies import make_strategy

    strategy = strategy or make_strategy(options.strategy, options.seed, replay_actions)
    facts = apk if apk is not None else installed_apk_facts(device, package)
    engine = None
    if options.ocr:
        from crawler.perceive.ocr import default_engine

        engine = default_engine()  # loads its models on the first blind screen only
    out.mkdir(parents=True, exist_ok=True)
    store = RunStore.create(out, run_id, package=package)
    try:
        if on_created is not None:
            on_created(store.path)
        session = Session(device, package, strategy, store, options, ocr=engine, apk=facts, on_progress=on_progress,
                          start_links=start_links)
        reason, detail = session.run()
        findings = derive_findings(store, options.thresholds())
        return Crawl(store.path, reason, detail, findings)
    finally:
        store.close()


def _progress_printer(package: str, enabled: bool):
    if not enabled:
        return None, None
    from rich.progress import BarColumn, Progress, TextColumn

    progress = Progress(
        TextColumn(f"[bold]{package}[/]"), BarColumn(), TextColumn("{task.fields[t]:>6.0f}/{task.total:.0f} s"),
        TextColumn("step {task.fields[steps]:>4}"), TextColumn("{task.fields[what]}", markup=False),
        transient=True,
    )
    task = progress.add_task("crawl", total=1, t=0.0, steps=0, what="starting")

    def update(info: dict) -> None:
        progress.update(task, total=max(info["budget"], 1), completed=min(info["t"], info["budget"]), t=info["t"],
                        steps=info["steps"], what=str(info["what"])[:60])

    return progress, update


def crawl_app(options: CrawlOptions | None = None, *, serial: str, package: str, out: Path, apk: Path | None = None,
              adb_port: int | None = None, replay_actions: list[dict] | None = None, progress: bool = True,
              device: AndroidDevice | None = None, **changes: Any) -> tuple[Path, str, str]:
    """`naysayer crawl`: install `apk` if given, crawl, derive findings; returns (run directory, end reason,
    detail). `changes` are CrawlOptions fields set over `options`. User errors (a bad package name, strategy or
    threshold, no such device, an APK that cannot be installed) raise before a run is created."""
    from crawler.device import AndroidDevice, adb_client, check_package
    from crawler.session import preflight
    from strategies import check_strategy

    options = replace(options or CrawlOptions(), **changes)
    check_package(package)
    check_strategy(options.strategy)
    options.thresholds()
    device = device or AndroidDevice(serial, adb_client(adb_port))
    facts = preflight(device, package, apk)
    display, update = _progress_printer(package, progress)
    if display is None:
        crawl = run_crawl(options, device, package, out, apk=facts, replay_actions=replay_actions)
    else:
        with display:
            crawl = run_crawl(options, device, package, out, apk=facts, replay_actions=replay_actions,
                              on_progress=update)
    return crawl.run, crawl.reason, crawl.detail
