"""`naysayer inspect`: say what is on one screen (a hierarchy dump and/or a screenshot), for a human or as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crawler.errors import UserError
from crawler.perceive import perceive
from crawler.screen import DEFAULT_SCREEN, MAX_BYTES, BadHierarchy, Hierarchy, parse_hierarchy
from crawler.text_safety import clean_screen_text

MAX_PNG_BYTES = 32 * 1024 * 1024


class InspectError(UserError, ValueError):
    """An input file of `naysayer inspect` is missing, unreadable or unusable."""


def _read(path: Path, limit: int, what: str) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InspectError(f"{path}: no such file") from None
    except OSError as exc:
        raise InspectError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    if not path.is_file():
        raise InspectError(f"{path}: not a file")
    if size > limit:
        raise InspectError(f"{path}: {what} too large ({size} bytes, limit {limit})")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InspectError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None


def _image_screen(path: Path, image: bytes) -> tuple[int, int, int, int]:
    """The screen bounds of a screenshot in any format OpenCV reads (screencap PNG, u2 JPEG...)."""
    from crawler.perceive.vision import BadImage, decode

    try:
        height, width = decode(image).shape[:2]
    except BadImage as exc:
        raise InspectError(f"{path}: not a screenshot: {exc}") from None
    return (0, 0, width, height)


def _ocr_engine() -> Any:
    """The process-wide engine (NAYSAYER_OCR_ENGINE / NAYSAYER_OCR_MODEL_DIR choose it), loaded now so that a missing
    engine or model is one clear error (OcrUnavailable) rather than a screen read as blank."""
    try:
        from crawler.perceive.ocr import default_engine
    except ImportError as exc:
        raise InspectError(f"OCR is not available: {exc}") from None
    engine = default_engine()  # one model load per process
    engine.load()
    return engine


def inspect_screen(xml_path: Path | None, png_path: Path | None, use_ocr: bool = True) -> dict[str, Any]:
    """The scene on one screen: {"scene", "permission", "actions": {role: {"bounds", "text"}}, "text", "source",
    "confidence", ...}. Raises InspectError naming the input and what is wrong."""
    if xml_path is None and png_path is None:
        raise InspectError("inspect needs a hierarchy dump and/or a screenshot")
    png = _read(Path(png_path), MAX_PNG_BYTES, "screenshot") if png_path is not None else None
    screen = _image_screen(png_path, png) if png is not None else DEFAULT_SCREEN
    if xml_path is not None:
        data = _read(Path(xml_path), MAX_BYTES, "hierarchy")
        try:
            hierarchy = parse_hierarchy(data)
        except BadHierarchy as exc:
            raise InspectError(f"{xml_path}: {exc}") from None
    else:
        hierarchy = Hierarchy.empty(screen)
    ocr = _ocr_engine() if (use_ocr and png is not None) else None
    scene = perceive(hierarchy, png if ocr is not None else None, ocr)
    if scene.pixel_error and xml_path is None:
        raise InspectError(f"{png_path}: {scene.pixel_error}")
    return {
        "scene": scene.kind,
        "package": scene.package,
        "permission": scene.permission,
        "actions": {role: {"bounds": list(c.bounds), "text": c.text, "resource_id": c.resource_id, "source": c.source}
                    for role, c in scene.actions.items()},
        "checkboxes": [{"bounds": list(b.bounds), "text": b.text, "checked": b.checked} for b in scene.checkboxes],
        "countdown": scene.countdown,
        "dialog_bounds": list(scene.dialog_bounds) if scene.dialog_bounds else None,
        "text": scene.text,
        "source": scene.source,
        "confidence": scene.confidence,
        "pixel_error": scene.pixel_error,
    }


def _show(text: str, limit: int = 120) -> str:
    """App text for a terminal: control and format characters already dropped by clean_screen_text(); quoted, cut."""
    text = clean_screen_text(text, limit)
    return repr(text) if text else "''"


def format_inspection(d: dict[str, Any]) -> str:
    lines = [f"scene:      {d['scene']}  (confidence {d['confidence']:.2f}, from {d['source']})"]
    if d.get("package"):
        lines.append(f"package:    {_show(d['package'], 200)}")
    if d.get("permission"):
        lines.append(f"permission: {d['permission']}")
    if d.get("countdown") is not None:
        lines.append(f"countdown:  {d['countdown']} s")
    if d.get("pixel_error"):
        lines.append(f"pixels:     not used: {_show(d['pixel_error'], 200)}")
    if d.get("dialog_bounds"):
        lines.append(f"dialog:     {d['dialog_bounds']}")
    if d["actions"]:
        lines.append("actions:")
        for role, a in d["actions"].items():
            found = f"  (from {a['source']})" if a.get("source", "hierarchy") != "hierarchy" else ""
            lines.append(f"  {role:<18} {_show(a['text'], 60):<40} at {a['bounds']}{found}")
    for box in d.get("checkboxes", []):
        mark = "x" if box["checked"] else " "
        lines.append(f"  [{mark}] {_show(box['text'], 80)} at {box['bounds']}")
    if d["text"]:
        lines.append(f"text ({len(d['text'])} lines):")
        lines.extend(f"  {_show(t)}" for t in d["text"][:40])
        if len(d["text"]) > 40:
            lines.append(f"  ... {len(d['text']) - 40} more")
    return "\n".join(lines)
