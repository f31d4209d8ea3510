"""Choosing the OCR engine: rapidocr by default, paddleocr only when installed and given its own model folders; every
failure is one line naming what is missing. The paddle adapter is checked against PaddleOCR's two result shapes
(2.x `ocr()`, 3.x `predict()`) with a stand-in module, and against the real package when it is installed."""

from __future__ import annotations

import importlib.machinery
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from crawler.perceive import ocr_engines
from crawler.perceive.ocr import OcrEngine, OcrUnavailable
from crawler.perceive.ocr_engines import OcrReader, PaddleOcrEngine, engine_from_env, make_engine, paddle_available
from tests import drawn_screens as screens


def test_rapidocr_is_the_default_and_meets_the_interface():
    engine = engine_from_env({})
    assert type(engine) is OcrEngine and isinstance(engine, OcrReader)
    assert type(make_engine("RapidOCR")) is OcrEngine


@pytest.mark.parametrize("env, message", [
    ({"NAYSAYER_OCR_ENGINE": "tesseract"}, "unknown OCR engine 'tesseract' (known: rapidocr, paddleocr)"),
    ({"NAYSAYER_OCR_ENGINE": "rapidocr", "NAYSAYER_OCR_MODEL_DIR": "/models"}, "a model folder is only for"),
])
def test_bad_engine_choices_are_one_line(env, message):
    with pytest.raises(OcrUnavailable) as caught:
        engine_from_env(env)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.skipif(paddle_available(), reason="paddleocr is installed: the missing-package error cannot happen")
def test_paddle_without_the_package_says_how_to_install_it(tmp_path):
    with pytest.raises(OcrUnavailable, match=r"'paddleocr' is not installed: pip install 'naysayer\[paddle\]'"):
        make_engine("paddleocr", tmp_path)


def fake_paddleocr(monkeypatch, version: str, pages) -> list[dict]:
    """Stand in for the third-party paddleocr module (never our code): records how it was built, returns `pages`."""
    built: list[dict] = []

    class PaddleOCR:
        def __init__(self, **options):
            built.append(options)

        def ocr(self, image, cls=False):
            return pages

        def predict(self, image):
            return pages

    module = types.ModuleType("paddleocr")
    module.__spec__ = importlib.machinery.ModuleSpec("paddleocr", None)
    module.__version__ = version
    module.PaddleOCR = PaddleOCR
    monkeypatch.setitem(sys.modules, "paddleocr", module)
    return built


def model_dir(tmp_path: Path, *folders: str) -> Path:
    for name in folders:
        (tmp_path / name).mkdir()
    return tmp_path


def test_paddle_needs_det_and_rec_folders_and_never_downloads(monkeypatch, tmp_path):
    fake_paddleocr(monkeypatch, "3.2.0", [])
    with pytest.raises(OcrUnavailable, match="needs a model folder holding det/ and rec/"):
        make_engine("paddleocr", None)
    with pytest.raises(OcrUnavailable, match=r"not a PaddleOCR model folder \(missing rec/\)"):
        make_engine("paddleocr", model_dir(tmp_path, "det"))


@pytest.mark.parametrize("version, pages", [
    ("2.7.3", [[[[[10, 20], [110, 20], [110, 60], [10, 60]], ("不同意", 0.97)],
                [[[200, 20], [300, 20], [300, 60], [200, 60]], ("噪", 0.2)]]]),
    ("3.2.0", [{"rec_texts": ["不同意", "噪"], "rec_scores": [0.97, 0.2],
                "rec_polys": [np.array([[10, 20], [110, 20], [110, 60], [10, 60]]),
                              np.array([[200, 20], [300, 20], [300, 60], [200, 60]])]}]),
])
def test_paddle_adapter_reads_lines_in_screen_pixels_from_its_own_models(monkeypatch, tmp_path, version, pages):
    built = fake_paddleocr(monkeypatch, version, pages)
    root = model_dir(tmp_path, "det", "rec")
    engine = engine_from_env({"NAYSAYER_OCR_ENGINE": "paddleocr", "NAYSAYER_OCR_MODEL_DIR": str(root)})
    assert isinstance(engine, PaddleOcrEngine) and isinstance(engine, OcrReader)
    image = screens.app_screen().image
    lines = engine.read(image, region=(100, 400, 700, 900))
    assert [(line.text, line.bounds) for line in lines] == [("不同意", (110, 420, 210, 460))]
    assert str(root / "det") in built[0].values() and str(root / "rec") in built[0].values()
    assert engine.read(image, region=(100, 400, 700, 900)) == lines and engine.hits == 1  # cached by crop


@pytest.mark.skipif(not paddle_available() or not os.environ.get("NAYSAYER_TEST_PADDLE_MODELS"),
                    reason="paddleocr (optional extra naysayer[paddle]) and NAYSAYER_TEST_PADDLE_MODELS (a folder with "
                           "det/ and rec/ PP-OCR models) are needed for the real PaddleOCR test")
def test_real_paddleocr_reads_the_dialog_buttons():
    engine = make_engine("paddleocr", os.environ["NAYSAYER_TEST_PADDLE_MODELS"])
    texts = {line.normalized for line in engine.read(screens.png_bytes(screens.permission_zh().image))}
    assert "拒绝" in texts


def test_engine_choice_reaches_the_process_wide_engine(monkeypatch):
    monkeypatch.setattr("crawler.perceive.ocr._default", None)
    monkeypatch.setenv("NAYSAYER_OCR_ENGINE", "nonesuch")
    from crawler.perceive.ocr import default_engine

    with pytest.raises(OcrUnavailable, match="unknown OCR engine 'nonesuch'"):
        default_engine()
    assert ocr_engines.ENGINES == ("rapidocr", "paddleocr")
