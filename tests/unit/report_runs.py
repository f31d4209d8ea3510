"""Synthetic runs for the report tests: a TraceBuilder trace written to a real run store, with real PNG screenshots
(a dialog drawn where the deny button is) and the findings today's detectors derive from it.

    run = make_run(tmp_path, label=HOSTILE_LABEL, dialog_text=HOSTILE_DIALOG)   # quit after a refusal
    run = make_run(tmp_path, refusal=False)                                    # a run without findings
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw

from crawler.analyze import findings_json
from crawler.detectors import detect
from crawler.store import RunStore
from tests.unit.trace_builder import TraceBuilder

HOSTILE_LABEL = "<img src=x onerror=alert(1)>"
HOSTILE_DIALOG = "</script><script>alert(1)</script>"
PACKAGE = "com.example.hostile"
DENY_BOUNDS = [100, 1200, 620, 1280]


def screenshot(seq: int, dialog: bool) -> bytes:
    image = Image.new("RGB", (720, 1600), (40 + seq * 20 % 200, 90, 160))
    draw = ImageDraw.Draw(image)
    if dialog:
        draw.rectangle((60, 900, 660, 1400), fill=(255, 255, 255))
        draw.rectangle(DENY_BOUNDS, fill=(220, 220, 220))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def make_run(root: Path, *, label: str = "Example", dialog_text: str = "要允许使用位置吗？", refusal: bool = True,
             run_id: str = "run-hostile", apk_sha256: str = "", bad_png: bool = False,
             signers: list[dict] | None = None, sdks: list | None = None, app: dict | None = None) -> Path:
    b = TraceBuilder(package=PACKAGE)
    b.steps[0].data["app"]["label"] = label
    b.steps[0].data["app"]["apk_sha256"] = apk_sha256
    b.steps[0].data["app"]["signers"] = signers or []
    if sdks is not None:
        b.steps[0].data["app"]["sdks"] = sdks
    b.steps[0].data["app"].update(app or {})
    b.launch()
    b.screen(["首页", dialog_text])
    if refusal:
        b.dialog("location")
        b.steps[-1].data["scene"]["text"].append(dialog_text)
        b.deny("location")
        b.steps[-1].data["target"]["text"] = dialog_text
        b.steps[-1].data["target"]["bounds"] = DENY_BOUNDS
        b.gone()
    trace = b.build()
    store = RunStore.create(root, run_id)
    with store:
        for step in trace.steps:
            data = dict(step.data)
            if step.kind == "observation":
                dialog = data["scene"]["kind"] == "permission_dialog"
                png = b"not a png" if bad_png else screenshot(step.seq, dialog)
                data["png"] = store.put_blob(png)
                data["xml"] = store.put_blob(f"<hierarchy>{step.seq}</hierarchy>".encode())
            store.append(step.kind, step.t, data)
        store.write_findings(findings_json(detect(store.trace())))
    return store.path
