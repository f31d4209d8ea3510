"""Which OCR engine reads the pixels: the interface perception relies on, and the engines behind it.

- `rapidocr` (default): rapidocr==3.10.0 on onnxruntime with the PP-OCR models bundled in its wheel; runs offline.
- `paddleocr` (optional, `pip install 'naysayer[paddle]'`): for labs that already run PaddlePaddle, with their own
  PP-OCR model folders (`--model-dir` / NAYSAYER_OCR_MODEL_DIR holding `det/` and `rec/`). It is imported only when
  chosen, and never asked to download models: without the folders it is a one-line error.

Selection: `make_engine(name, model_dir)`, or the environment: NAYSAYER_OCR_ENGINE=rapidocr|paddleocr and
NAYSAYER_OCR_MODEL_DIR (read by `crawler.perceive.ocr.default_engine`, which crawl and inspect use).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from crawler.perceive.ocr import Bounds, OcrEngine, OcrLine, OcrUnavailable, line_in_screen

ENGINE_ENV = "NAYSAYER_OCR_ENGINE"
MODEL_DIR_ENV = "NAYSAYER_OCR_MODEL_DIR"
DEFAULT_ENGINE = "rapidocr"
PADDLE_FOLDERS = ("det", "rec")  # the PP-OCR inference model folders a paddle model dir must hold


@runtime_checkable
class OcrReader(Protocol):
    """What perception needs from an OCR engine (crawler.perceive.pixels). Lines carry `.text`, `.bounds`
    (x1, y1, x2, y2 in pixels of the whole screenshot) and `.score`; `image` is PNG/JPEG bytes or a BGR array."""

    def read(self, image: bytes | np.ndarray, region: Bounds | None = None) -> list[OcrLine]: ...

    def recognize(self, image: bytes | np.ndarray, bounds: Bounds) -> OcrLine | None: ...

    def load(self) -> None: ...


class PaddleOcrEngine(OcrEngine):
    """PaddleOCR behind the same interface, cache and bounds as the rapidocr engine (PaddleOCR 2.x and 3.x APIs).

    Models come only from `model_dir/det` and `model_dir/rec` (PP-OCR inference folders): PaddleOCR's default is to
    download them, which fails offline ("No available model hosting platforms detected", shared/reference/ocr.md).
    """

    def __init__(self, model_dir: Path | str | None, **options: Any):
        super().__init__(**options)
        self.model_dir = check_paddle(model_dir)
        self._api = 3

    def _build(self) -> Any:
        try:
            module = importlib.import_module("paddleocr")
        except Exception as error:  # noqa: BLE001 - ImportError, or paddle failing underneath
            raise OcrUnavailable(f"OCR engine 'paddleocr' cannot be imported ({type(error).__name__}: "
                                 f"{str(error)[:160]}); install it with pip install 'naysayer[paddle]'") from None
        det, rec = (str(self.model_dir / name) for name in PADDLE_FOLDERS)
        version = str(getattr(module, "__version__", "3"))
        self._api = 2 if version.startswith("2.") else 3
        try:
            if self._api == 2:
                return module.PaddleOCR(det_model_dir=det, rec_model_dir=rec, use_angle_cls=False, show_log=False)
            return module.PaddleOCR(text_detection_model_dir=det, text_recognition_model_dir=rec,
                                    use_doc_orientation_classify=False, use_doc_unwarping=False,
                                    use_textline_orientation=False)
        except Exception as error:  # noqa: BLE001 - a bad model folder or a paddle runtime problem
            raise OcrUnavailable(f"OCR engine 'paddleocr' could not load {self.model_dir}: "
                                 f"{_first_line(error)}") from None

    def _detect_and_read(self, img: np.ndarray, crop: np.ndarray, region: Bounds | None, ox: int,
                         oy: int) -> list[OcrLine]:
        return [line_in_screen(box, text, score, ox, oy, img.shape)
                for box, text, score in self._predict(np.ascontiguousarray(crop))
                if str(text).strip() and float(score) >= self.text_score]

    def _recognize_box(self, crop: np.ndarray) -> tuple[str, float] | None:
        found = self._predict(crop)
        if not found:
            return None
        return " ".join(str(text) for _, text, _ in found), min(float(score) for _, _, score in found)

    def _predict(self, crop: np.ndarray) -> list[tuple[Any, str, float]]:
        """(box, text, score) for every line PaddleOCR finds in a BGR crop."""
        if self._api == 2:
            result = self._engine.ocr(crop, cls=False) or []
            page = result[0] if result else []
            return [(box, text, score) for box, (text, score) in page or []]
        found = []
        for page in self._engine.predict(crop) or []:
            data = page.json.get("res", page) if hasattr(page, "json") else page
            found.extend(zip(data.get("rec_polys", []), data.get("rec_texts", []), data.get("rec_scores", []),
                             strict=False))
        return found


def _first_line(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


def paddle_available() -> bool:
    return importlib.util.find_spec("paddleocr") is not None


def check_paddle(model_dir: Path | str | None) -> Path:
    """The model folder for PaddleOCR, checked before anything loads; OcrUnavailable names what is missing."""
    if not paddle_available():
        raise OcrUnavailable("OCR engine 'paddleocr' is not installed: pip install 'naysayer[paddle]' (it also needs "
                             "PaddlePaddle and PP-OCR model folders), or use the default engine 'rapidocr'")
    if not model_dir:
        raise OcrUnavailable(f"OCR engine 'paddleocr' needs a model folder holding det/ and rec/ (set {MODEL_DIR_ENV});"
                             " it never downloads models")
    root = Path(model_dir).expanduser()
    missing = [name for name in PADDLE_FOLDERS if not (root / name).is_dir()]
    if missing:
        raise OcrUnavailable(f"{root}: not a PaddleOCR model folder (missing {', '.join(f'{m}/' for m in missing)})")
    return root


ENGINES = ("rapidocr", "paddleocr")


def make_engine(name: str = DEFAULT_ENGINE, model_dir: Path | str | None = None, **options: Any) -> OcrEngine:
    """An OCR engine by name. Raises OcrUnavailable (one line) for an unknown name or a missing engine or model."""
    name = (name or DEFAULT_ENGINE).strip().lower()
    if name == "rapidocr":
        if model_dir:
            raise OcrUnavailable("OCR engine 'rapidocr' uses the models bundled in its wheel; a model folder is only "
                                 "for 'paddleocr'")
        return OcrEngine(**options)
    if name == "paddleocr":
        return PaddleOcrEngine(model_dir, **options)
    raise OcrUnavailable(f"unknown OCR engine {name[:40]!r} (known: {', '.join(ENGINES)})")


def engine_from_env(environ: dict[str, str] | None = None) -> OcrEngine:
    env = os.environ if environ is None else environ
    return make_engine(env.get(ENGINE_ENV, DEFAULT_ENGINE), env.get(MODEL_DIR_ENV) or None)
