"""Read text lines from a screenshot, offline, with the PP-OCR models that ship inside the rapidocr wheel.

Why these settings (measured in /work/shared/reference/ocr.md): rapidocr is pinned (bundled models and API change
between releases); the text-direction classifier is off (phone text is upright; it costs time and never helped);
use_det/use_cls/use_rec are passed on every call because rapidocr keeps them across calls; max_side_len 1600 is both
faster and more accurate than the default 2000 on 1080x2400 screens; a dialog crop reads in ~200 ms instead of ~500.
Model files are selected by explicit path, so nothing is ever looked up or downloaded.

Speed on 2 shared cores (docs/benchmarks.md, OCR section): the onnxruntime sessions are built here, with a memory
arena (rapidocr turns it off: every run then allocates its tensors anew) and without spin-waiting worker threads
(they burn the other core that the crawler, the simulator or another OCR call needs); crops are detected at 3/4 of
the screen's own scale (dialog text is 14sp or more: still 20+ px tall for the detector); the cache key hashes only
the crop's pixels of the already-decoded array.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crawler.errors import UserError
from crawler.perceive import vision

Bounds = tuple[int, int, int, int]
log = logging.getLogger(__name__)

# The files inside rapidocr-3.10.0's wheel (rapidocr/models/); the rec model carries its own character list.
DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"  # never run (use_cls off) but named so nothing is resolved online

MAX_SIDE_LEN = 1600
DET_LIMIT_SIDE = 736  # rapidocr's detector default: it scales an image's short side up to this
# Crops are detected at this share of the scale the whole screen would be: measured on 40 real and drawn dialog crops,
# the same titles and buttons are read, 20-25% faster (at 0.6 stray glyphs appear and lines start to split).
DET_CROP_SCALE = 0.75
# The detector's input never exceeds this on its long side: a thin picture (16x4000) scaled up to a 736 px short side
# would be 184000 px long (3 GB, then rapidocr's ResizeImgError). A phone screen is 1640 px long at 736.
MAX_DET_SIDE = 2 * MAX_SIDE_LEN
MAX_LINES = 200  # an app can fill its screen with text; perception never needs more than this
MAX_TEXT = 300  # characters kept per line: app text is hostile data
CACHE_SIZE = 128

_QUOTES = str.maketrans({"‘": "'", "’": "'", "‛": "'", "′": "'", "`": "'",
                         "“": '"', "”": '"', "„": '"', "″": '"'})
_CJK = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_SPACE_NEXT_TO_CJK = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")


class OcrUnavailable(UserError, RuntimeError):
    """rapidocr, onnxruntime or the bundled model files cannot be loaded."""


class OcrFailed(RuntimeError):
    """The engine failed on one picture (rapidocr raises its own Exception subclasses): that screen goes unread."""


def normalize(text: str) -> str:
    """The comparable form of an OCR line: NFKC, one quote style, no spaces next to CJK ("跳过 3" -> "跳过3")."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _SPACE_NEXT_TO_CJK.sub("", text)
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True)
class OcrLine:
    text: str  # as recognised (bounded), not normalised
    bounds: Bounds  # x1, y1, x2, y2 in pixels of the full screenshot
    score: float

    @property
    def normalized(self) -> str:
        return normalize(self.text)

    @property
    def center(self) -> tuple[int, int]:
        x1, y1, x2, y2 = self.bounds
        return (x1 + x2) // 2, (y1 + y2) // 2


def models_dir() -> Path:
    try:
        import rapidocr
    except Exception as error:  # noqa: BLE001 - ImportError, or onnxruntime/omegaconf failing underneath
        raise OcrUnavailable(f"OCR unavailable: cannot import rapidocr ({type(error).__name__}: {error})") from None
    return Path(rapidocr.__file__).resolve().parent / "models"


def model_paths() -> dict[str, Path]:
    """The exact bundled model files the engine loads, checked to exist."""
    root = models_dir()
    paths = {"det": root / DET_MODEL, "rec": root / REC_MODEL, "cls": root / CLS_MODEL}
    missing = [p.name for p in paths.values() if not p.is_file()]
    if missing:
        raise OcrUnavailable(f"OCR unavailable: bundled model files missing in {root}: {', '.join(missing)} "
                             f"(reinstall rapidocr==3.10.0)")
    return paths


class OcrEngine:
    """One rapidocr instance, loaded on first use; calls are serialised (rapidocr keeps per-call flags as state)."""

    def __init__(self, max_side_len: int = MAX_SIDE_LEN, text_score: float = 0.5, cache_size: int = CACHE_SIZE,
                 max_lines: int = MAX_LINES):
        self.max_side_len = max_side_len
        self.text_score = text_score
        self.max_lines = max_lines
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[Any, ...], tuple[OcrLine, ...]] = OrderedDict()
        self._engine: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def load(self) -> None:
        """Load the models now (otherwise the first read does, ~1 s). Other threads see the engine only once it is
        complete: a half-built one (no sessions yet, or about to fail) would be run without the lock's guarantee."""
        if self._engine is not None:
            return
        with self._load_lock:
            if self._engine is None:
                self._engine = self._build()

    def _build(self) -> Any:
        """The loaded engine, or OcrUnavailable (one line). Engine adapters (crawler.perceive.ocr_engines) override
        this, `_detect_and_read` and `_recognize_box`."""
        paths = model_paths()
        try:
            from rapidocr import RapidOCR

            engine = RapidOCR(params={
                "Global.log_level": "error",
                "Global.use_cls": False,
                "Global.max_side_len": self.max_side_len,
                "Global.text_score": self.text_score,
                "Det.model_path": str(paths["det"]),
                "Rec.model_path": str(paths["rec"]),
                "Cls.model_path": str(paths["cls"]),
            })
            _give_sessions(engine, paths)
            # rapidocr builds its onnx sessions lazily; build them here so failures surface as OcrUnavailable.
            engine._load_det_model()
            engine._load_rec_model()
        except Exception as error:  # noqa: BLE001 - any load failure (bad file, onnxruntime) means no OCR
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise OcrUnavailable(f"OCR unavailable: rapidocr could not load {paths['det'].parent}: "
                                 f"{message}") from None
        return engine

    def read(self, image: bytes | np.ndarray, region: Bounds | None = None) -> list[OcrLine]:
        """Text lines in the image (or only in region, which is faster), top-to-bottom then left-to-right."""
        img: np.ndarray | None = None
        if isinstance(image, np.ndarray):
            # A decoded screenshot: the key is the crop's own pixels (a dialog is a fraction of the screen), with
            # the screen's shape and the crop's place, which set the detection scale and the returned bounds.
            img = vision.decode(image)
            ox, oy, crop = _crop(img, region)
            key: tuple[Any, ...] = ("array", img.shape, region is None, (ox, oy, *crop.shape[:2]),
                                    _pixels_digest(crop))
        else:
            key = (_digest(image), region)  # bytes: hashing them is cheaper than decoding them
        with self._run_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return list(cached)
        if img is None:
            img = vision.decode(image)
            ox, oy, crop = _crop(img, region)
        self.load()
        with self._run_lock:
            if vision.is_blank(crop):  # a secure or black screen: nothing to read, skip ~300 ms of detection
                lines: tuple[OcrLine, ...] = ()
            else:
                with _engine_failures():
                    found = self._detect_and_read(img, crop, region, ox, oy)
                lines = tuple(_sorted_lines(found)[: self.max_lines])
            self.misses += 1
            self._cache[key] = lines
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return list(lines)

    def _detect_and_read(self, img: np.ndarray, crop: np.ndarray, region: Bounds | None, ox: int,
                         oy: int) -> list[OcrLine]:
        """Detect and recognise the lines of `crop` (at offset ox, oy of `img`); the caller holds the run lock."""
        self._set_detection_scale(img.shape, crop.shape if region is not None else None)
        result = self._engine(np.ascontiguousarray(crop), use_det=True, use_cls=False, use_rec=True)
        return self._lines(result, ox, oy, img.shape)

    def _set_detection_scale(self, screen: tuple[int, ...], crop: tuple[int, ...] | None) -> None:
        """Detect text in a crop at the scale the whole screen would be detected at.

        rapidocr first shrinks the image to max_side_len, then its detector scales the short side up to 736 px.
        For a wide, short crop (a 720x220 banner) that upscale is 3.3x and costs seconds; reading the crop at the
        screen's own scale costs in proportion to its area. (Sets rapidocr-3.10.0 TextDetector attributes, which it
        reads on every call; the caller holds the run lock.)
        """
        detector = self._engine._load_det_model()
        height, width = screen[:2]
        shrink = min(1.0, self.max_side_len / max(height, width))
        scale = shrink * max(1.0, DET_LIMIT_SIDE / (min(height, width) * shrink))
        if crop is None:
            if max(height, width) * scale > MAX_DET_SIDE:
                detector.limit_type, detector.limit_side_len = "max", MAX_DET_SIDE
            else:
                detector.limit_type, detector.limit_side_len = "min", DET_LIMIT_SIDE
            return
        scale *= DET_CROP_SCALE
        if scale <= 1.0 or max(crop[:2]) * scale > MAX_DET_SIDE:
            detector.limit_type = "max"
            detector.limit_side_len = max(32, min(MAX_DET_SIDE, round(max(crop[:2]) * scale)))
        else:
            detector.limit_type, detector.limit_side_len = "min", max(32, round(min(crop[:2]) * scale))

    def recognize(self, image: bytes | np.ndarray, bounds: Bounds) -> OcrLine | None:
        """Read one known text box without detection (~7 ms): re-reading a countdown or a button label."""
        img = vision.decode(image)
        x1, y1, x2, y2 = _clip(bounds, img)
        if x2 - x1 < 4 or y2 - y1 < 4:
            raise vision.BadImage(f"OCR box {bounds} is outside the {img.shape[1]}x{img.shape[0]} image")
        self.load()
        with self._run_lock, _engine_failures():
            found = self._recognize_box(np.ascontiguousarray(img[y1:y2, x1:x2]))
        if found is None or not found[0].strip() or found[1] < self.text_score:
            return None
        return OcrLine(found[0][:MAX_TEXT], (x1, y1, x2, y2), round(float(found[1]), 4))

    def _recognize_box(self, crop: np.ndarray) -> tuple[str, float] | None:
        """(text, score) of one text line filling `crop`, recognition only; the caller holds the run lock."""
        result = self._engine(crop, use_det=False, use_cls=False, use_rec=True)
        texts, scores = getattr(result, "txts", None), getattr(result, "scores", None)
        return (texts[0], float(scores[0])) if texts else None

    def _lines(self, result: Any, ox: int, oy: int, shape: tuple[int, ...]) -> list[OcrLine]:
        boxes, texts, scores = getattr(result, "boxes", None), getattr(result, "txts", None), getattr(result,
                                                                                                   "scores", None)
        if boxes is None or texts is None or scores is None:
            return []
        return [line_in_screen(box, text, score, ox, oy, shape)
                for box, text, score in zip(boxes, texts, scores, strict=False) if str(text).strip()]

    def clear_cache(self) -> None:
        with self._run_lock:
            self._cache.clear()


def line_in_screen(box: Any, text: Any, score: Any, ox: int, oy: int, shape: tuple[int, ...]) -> OcrLine:
    """An engine's text box (its corner points in a crop at ox, oy) as a bounded line in screen pixels."""
    height, width = shape[:2]
    points = np.asarray(box, dtype=np.float32).reshape(-1, 2)
    x1, y1 = points.min(axis=0)
    x2, y2 = points.max(axis=0)
    bounds = (max(0, int(x1) + ox), max(0, int(y1) + oy), min(width, int(np.ceil(x2)) + ox),
              min(height, int(np.ceil(y2)) + oy))
    return OcrLine(str(text)[:MAX_TEXT], bounds, round(float(score), 4))


def _give_sessions(engine: Any, paths: dict[str, Path]) -> None:
    """Hand rapidocr-3.10.0 onnxruntime sessions built for a shared 2-core machine (it uses a session found in its
    Det/Rec config instead of building one): memory arena on, no spin-waiting threads. When this onnxruntime refuses
    an option, rapidocr builds its own sessions from the same bundled files (slower, same text)."""
    import onnxruntime
    from omegaconf import flag_override

    sessions = {}
    try:
        for part, name in (("Det", "det"), ("Rec", "rec")):
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 4
            options.enable_cpu_mem_arena = True
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            sessions[part] = onnxruntime.InferenceSession(str(paths[name]), sess_options=options,
                                                          providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - an option or provider this onnxruntime build does not support
        log.info("OCR: onnxruntime refused the tuned session options (%s); using rapidocr's own sessions",
                 str(error).splitlines()[0][:200] if str(error) else type(error).__name__)
        return
    for part, session in sessions.items():
        with flag_override(engine.cfg[part], "allow_objects", True):
            engine.cfg[part].session = session


@contextlib.contextmanager
def _engine_failures() -> Iterator[None]:
    """An engine's own exception on one picture becomes OcrFailed, one line: a crawl step must not die of it."""
    try:
        yield
    except (ValueError, RuntimeError):
        raise
    except Exception as error:  # noqa: BLE001 - rapidocr's ResizeImgError, RapidOCRError... are plain Exceptions
        detail = str(error).splitlines()[0][:200] if str(error) else ""
        raise OcrFailed(f"OCR failed on this screenshot: {type(error).__name__} {detail}".rstrip()) from None


def _crop(img: np.ndarray, region: Bounds | None) -> tuple[int, int, np.ndarray]:
    """(x offset, y offset, the region's pixels) of a decoded image; the whole image when region is None."""
    if region is None:
        return 0, 0, img
    x1, y1, x2, y2 = _clip(region, img)
    if x2 - x1 < 4 or y2 - y1 < 4:
        raise vision.BadImage(f"OCR region {region} is outside the {img.shape[1]}x{img.shape[0]} image")
    return x1, y1, img[y1:y2, x1:x2]


def _pixels_digest(pixels: np.ndarray) -> bytes:
    # SHA-1 runs at ~2 GB/s here (hardware instructions), blake2b at ~1: 4 ms instead of 8 for a 1080x2340 screen.
    # A cache key, not a signature.
    return hashlib.sha1(np.ascontiguousarray(pixels).data, usedforsecurity=False).digest()


def _digest(image: bytes) -> tuple[Any, ...]:
    if isinstance(image, (bytes, bytearray, memoryview)):
        return ("bytes", hashlib.sha1(image, usedforsecurity=False).digest())
    raise vision.BadImage(f"screenshot: expected PNG/JPEG bytes or a numpy array, got {type(image).__name__}")


def _clip(bounds: Bounds, img: np.ndarray) -> Bounds:
    h, w = img.shape[:2]
    x1, y1, x2, y2 = (int(v) for v in bounds)
    return max(0, x1), max(0, y1), min(w, x2), min(h, y2)


def _sorted_lines(lines: list[OcrLine]) -> list[OcrLine]:
    """Reading order: rows of lines whose vertical centres are within half a line height, each row left to right."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda item: (item.center[1], item.bounds[0])):
        if rows:
            last = rows[-1][0]
            tolerance = min(last.bounds[3] - last.bounds[1], line.bounds[3] - line.bounds[1]) / 2
            if abs(line.center[1] - last.center[1]) <= tolerance:
                rows[-1].append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda item: item.bounds[0])]


_default: OcrEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> OcrEngine:
    """The process-wide engine (models load once per process, on first read): rapidocr unless the environment
    names another (NAYSAYER_OCR_ENGINE, NAYSAYER_OCR_MODEL_DIR; see crawler.perceive.ocr_engines)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                from crawler.perceive.ocr_engines import engine_from_env

                _default = engine_from_env()
    return _default
