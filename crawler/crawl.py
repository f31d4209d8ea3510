"""One crawl, end to end: connect, install, record the trace, derive findings. Used by `naysayer crawl` and the lab."""

from __future__ import annotations

from pathlib import Path

from crawler.device import AndroidDevice, adb_client, check_package
from crawler.session import CrawlSettings, Session, preflight
from crawler.store import RunStore
from strategies import make_strategy


def recorded_actions(run: Path) -> list[dict]:
    """The action steps of a recorded run, for --strategy replay."""
    with RunStore.open(run) as store:
        return [dict(step.data, seq=step.seq) for step in store.trace().of("action")]


def derive_findings(store: RunStore, settings=None) -> list:
    from crawler.detectors import detect

    findings = detect(store.trace(), settings)
    store.write_findings([f.to_json() for f in findings])
    return findings


def _progress_printer(package: str, enabled: bool):
    if not enabled:
        return None, (lambda info: None)
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


def crawl_app(*, serial: str, package: str, apk: Path | None = None, strategy: str = "deny", budget: float = 300.0,
              steps: int = 400, seed: int = 0, out: Path = Path("runs"), keep_data: bool = False, idle: float = 900.0,
              adb_port: int | None = None, replay_actions: list[dict] | None = None, progress: bool = True,
              ocr: bool = True, device: AndroidDevice | None = None,
              thresholds=None) -> tuple[Path, str, str]:
    """Crawl one app; returns (run directory, end reason, detail). User errors raise before a run is created."""
    check_package(package)
    strat = make_strategy(strategy, seed, replay_actions)
    device = device or AndroidDevice(serial, adb_client(adb_port))
    apk_facts = preflight(device, package, apk)
    settings = CrawlSettings(budget=budget, steps=steps, idle=idle, keep_data=keep_data, seed=seed)
    engine = None
    if ocr:
        from crawler.perceive.ocr import default_engine

        engine = default_engine()  # loads its models on the first blind screen only
    out.mkdir(parents=True, exist_ok=True)
    store = RunStore.create(out, package=package)
    display, update = _progress_printer(package, progress)
    try:
        session = Session(device, package, strat, store, settings, ocr=engine, apk=apk_facts, on_progress=update)
        if display is not None:
            with display:
                reason, detail = session.run()
        else:
            reason, detail = session.run()
        derive_findings(store, thresholds)
        return store.path, reason, detail
    finally:
        store.close()
