"""Recorded runs for the evidence tests (bundles, sealed findings, the fuzz sweep), written to a real run store.

    run = refusal_run(root, "run-1")    # a refusal the app quits on, browsing, a second refusal and a crash
    run = tiny_run(root)                # one observation and one finding: the smallest bundle worth signing
"""

from __future__ import annotations

from pathlib import Path

from crawler.analyze import analyze_run
from crawler.store import RunStore
from tests.unit.trace_builder import TraceBuilder


def refusal_run(root: Path, run_id: str = "run-1", analyze: bool = True) -> Path:
    """A run as the session records it: a refusal the app quits on, some browsing, a second refusal and a crash,
    every observation with its hierarchy and screenshot blobs; findings derived by today's detectors unless
    `analyze` is false (a killed crawl)."""
    b = TraceBuilder()
    b.launch()
    b.screen(["首页"])
    b.dialog("camera")
    b.deny("camera")
    b.screen(dt=1.0)
    b.gone(dt=2.0)
    for page in range(4):
        b.launch()
        b.screen([f"第 {page} 页"])
        b.tap("更多")
    b.dialog("location")
    b.deny("location")
    b.crash(dt=0.8)
    with RunStore.create(root, run_id) as store:
        for step in b.build().steps:
            data = dict(step.data)
            if step.kind == "observation":
                data["xml"] = store.put_blob(f"<hierarchy><node text='{step.seq}'/></hierarchy>".encode())
                data["png"] = store.put_blob(b"\x89PNG\r\n\x1a\n" + bytes([step.seq % 5]) * 300)
            store.append(step.kind, step.t, data)
    if analyze:
        analyze_run(root / run_id)
    return root / run_id


def tiny_run(root: Path, run_id: str = "tiny") -> Path:
    """One observation with its blobs and one stored finding citing it."""
    with RunStore.create(root, run_id) as store:
        png = store.put_blob(b"\x89PNG\r\n\x1a\n-screenshot-")
        xml = store.put_blob(b"<hierarchy><node text='ok'/></hierarchy>")
        store.append("run_start", 1.0, {"app": {"package": "com.example.tiny"}})
        store.append("observation", 2.0, {"state": "s1", "png": png, "xml": xml, "scene": {"kind": "app"}})
        store.append("run_end", 3.0, {"reason": "done"})
        store.write_findings([{"id": "k-2", "kind": "k", "steps": [2], "screenshots": [png]}])
        return store.path
