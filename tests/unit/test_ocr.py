"""OCR on screens drawn with real CJK fonts and on real screenshots (read in place): the key lines come back exact."""

from __future__ import annotations

import threading
import unicodedata

import numpy as np
import pytest

from crawler.perceive import ocr, vision
from tests.drawn_screens import (
    ad_card_cross,
    app_screen,
    black_screen,
    permission_dark,
    permission_en,
    permission_zh,
    png_bytes,
    splash_skip,
)
from tests.reference import REAL, needs_reference, real_images

DENY_WORDS = ("拒绝", "不允许", "禁止", "deny", "don't allow")


def texts(lines: list[ocr.OcrLine]) -> list[str]:
    return [line.normalized for line in lines]


def test_normalize_matches_what_ocr_returns():
    assert ocr.normalize("跳过 3") == "跳过3"
    assert ocr.normalize("Don’t  allow ") == "Don't allow"
    assert ocr.normalize("要允许“地图”获取") == '要允许"地图"获取'
    assert ocr.normalize("位置信息吗？") == "位置信息吗?"
    assert ocr.normalize("双十一 全场五折") == "双十一全场五折"
    assert ocr.normalize("Only this time") == "Only this time"


def test_bundled_model_files_are_the_ones_loaded(ocr_engine):
    paths = ocr.model_paths()
    assert paths["det"].name == "PP-OCRv6_det_small.onnx" and paths["rec"].name == "PP-OCRv6_rec_small.onnx"
    assert all(path.is_file() and path.parent == ocr.models_dir() for path in paths.values())
    assert ocr_engine._engine.cfg.Det.model_path == str(paths["det"])
    assert ocr_engine._engine.cfg.Rec.model_path == str(paths["rec"])
    assert ocr_engine._engine.use_cls is False


@pytest.mark.parametrize("screen", [permission_zh(), permission_en(), permission_dark(), splash_skip(),
                                    ad_card_cross(), app_screen()], ids=lambda s: s.name)
def test_key_lines_read_exactly(ocr_engine, screen):
    read = texts(ocr_engine.read(screen.image))
    for line in screen.lines:
        assert ocr.normalize(line) in read, (line, read)


def test_skip_pill_text_and_bounds(ocr_engine):
    lines = [line for line in ocr_engine.read(splash_skip().image) if line.normalized == "跳过3"]
    assert len(lines) == 1
    x1, y1, x2, y2 = lines[0].bounds
    assert 530 <= x1 < x2 <= 684 and 80 <= y1 < y2 <= 140  # inside the pill drawn at (530, 80, 684, 140)
    assert lines[0].text.replace(" ", "") == "跳过3"  # raw text kept as read, spaces and all


def test_region_read_maps_boxes_to_the_full_screen(ocr_engine):
    screen = permission_zh()
    full = {line.normalized: line.bounds for line in ocr_engine.read(screen.image)}
    crop = ocr_engine.read(screen.image, region=screen.card)
    assert texts(crop) == [ocr.normalize(line) for line in screen.lines]  # only the dialog, in reading order
    for line in crop:
        fx1, fy1, fx2, fy2 = full[line.normalized]
        assert abs(line.bounds[0] - fx1) <= 6 and abs(line.bounds[1] - fy1) <= 6
        assert abs(line.bounds[2] - fx2) <= 6 and abs(line.bounds[3] - fy2) <= 6


def test_lines_in_reading_order(ocr_engine):
    lines = ocr_engine.read(permission_en().image, region=permission_en().card)
    assert texts(lines) == ["Allow Maps to access this", "device's location?", "While using the app",
                            "Only this time", "Don't allow"]
    top = [line for line in ocr_engine.read(app_screen().image) if line.bounds[1] < 48]
    assert texts(top) == ["10:42", "87%"]  # same row: left to right


def test_png_bytes_and_array_read_the_same_and_cache(ocr_engine):
    screen = permission_en()
    data = png_bytes(screen.image)
    first = ocr_engine.read(data, region=screen.card)
    hits = ocr_engine.hits
    again = ocr_engine.read(data, region=screen.card)
    assert ocr_engine.hits == hits + 1
    assert again == first
    assert texts(ocr_engine.read(screen.image, region=screen.card)) == texts(first)


def test_crop_cache_ignores_pixels_outside_the_crop_and_sees_those_inside(ocr_engine):
    screen = permission_zh()
    first = ocr_engine.read(screen.image, region=screen.card)
    clock_changed = screen.image.copy()
    clock_changed[4:40, 10:120] = 255 - clock_changed[4:40, 10:120]  # the status bar, outside the dialog
    hits, misses = ocr_engine.hits, ocr_engine.misses
    assert ocr_engine.read(clock_changed, region=screen.card) == first
    assert (ocr_engine.hits, ocr_engine.misses) == (hits + 1, misses)
    x1, y1 = screen.card[:2]
    text_changed = screen.image.copy()
    text_changed[y1 + 20:y1 + 60, x1 + 20:x1 + 200] = 0  # inside the dialog
    ocr_engine.read(text_changed, region=screen.card)
    assert ocr_engine.misses == misses + 1
    # The same pixels read as the whole screen are another read (the detector scales a screen differently).
    ocr_engine.clear_cache()
    misses = ocr_engine.misses
    ocr_engine.read(screen.image, region=(0, 0, screen.image.shape[1], screen.image.shape[0]))
    ocr_engine.read(screen.image)
    assert ocr_engine.misses == misses + 2


def test_cache_is_bounded():
    small = ocr.OcrEngine(cache_size=2)
    small._engine = object()  # never called: blank images are answered without the model
    for value in range(4):
        small.read(np.full((64, 64, 3), value, np.uint8))
    assert len(small._cache) == 2


def test_black_screen_reads_nothing(ocr_engine):
    assert ocr_engine.read(black_screen().image) == []


def test_recognize_a_known_box(ocr_engine):
    line = ocr_engine.recognize(permission_zh().image, (60, 1340, 660, 1400))  # the 拒绝 button drawn at y 1326..1402
    assert line is not None and line.normalized == "拒绝"


def test_bad_input_and_bad_region(ocr_engine):
    with pytest.raises(vision.BadImage):
        ocr_engine.read(b"")
    with pytest.raises(vision.BadImage):
        ocr_engine.read(app_screen().image, region=(900, 10, 1000, 50))


def test_max_lines_bounds_the_result(ocr_engine):
    bounded = ocr.OcrEngine(max_lines=3)
    bounded._engine = ocr_engine._engine
    assert len(bounded.read(app_screen().image)) == 3


def test_concurrent_reads_agree(ocr_engine):
    screen = ad_card_cross()
    ocr_engine.clear_cache()
    results: list[list[str]] = []

    def worker():
        results.append(texts(ocr_engine.read(screen.image, region=screen.card)))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3 and results[0] == results[1] == results[2]


def test_unavailable_models_raise_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr(ocr, "models_dir", lambda: tmp_path)
    with pytest.raises(ocr.OcrUnavailable) as caught:
        ocr.OcrEngine().load()
    assert "PP-OCRv6_det_small.onnx" in str(caught.value) and "\n" not in str(caught.value)


# ---------------------------------------------------------------- real screenshots

# Every real screenshot labelled permission_dialog in sources.tsv. All of them currently yield a deny-like word;
# a new one that does not is reported by name.
REAL_PERMISSION_DIALOGS = [file for file, _label, _path in real_images("permission_dialog")]


def _has_deny(lines: list[ocr.OcrLine]) -> bool:
    return any(word in unicodedata.normalize("NFKC", line.normalized).lower() for line in lines
               for word in DENY_WORDS)


@needs_reference("real/img")
@pytest.mark.parametrize("file", REAL_PERMISSION_DIALOGS or ["none"])
def test_real_permission_dialogs_show_a_deny_word(ocr_engine, file):
    if file == "none":
        pytest.skip("no permission_dialog rows in sources.tsv")
    lines = ocr_engine.read((REAL / "img" / file).read_bytes())
    assert _has_deny(lines), (file, texts(lines))


@needs_reference("real/img")
def test_real_dialog_crop_reads_the_buttons(ocr_engine):
    path = REAL / "img" / "droidbot__anupam.acrylic__2023-10-19_025247.jpg"
    if not path.is_file():
        pytest.skip(f"absent: {path}")
    img = vision.decode(path.read_bytes())
    card = vision.dialog_bounds(img)
    assert card is not None
    read = texts(ocr_engine.read(img, region=card))
    assert "ALLOW" in read and "DENY" in read


@pytest.mark.parametrize("shape", [(4000, 16), (300, 16384)])
def test_a_thin_picture_is_refused_in_one_line_without_scaling_it_up_to_gigabytes(ocr_engine, shape):
    # Before: the detector scaled the 16 px side up to 736 (3 GB, seconds), then rapidocr's ResizeImgError (a plain
    # Exception) escaped and ended the crawl step.
    image = np.full((*shape, 3), 255, np.uint8)
    image[::40, :] = 0
    try:
        lines = ocr_engine.read(image, region=(0, 0, shape[1], shape[0]))
    except ocr.OcrFailed as error:
        assert "\n" not in str(error) and str(error).startswith("OCR failed")
    else:
        assert isinstance(lines, list)
    detector = ocr_engine._engine._load_det_model()
    assert detector.limit_type == "min" or detector.limit_side_len <= ocr.MAX_DET_SIDE
    assert not (detector.limit_type == "min" and max(shape) * detector.limit_side_len / min(shape) > ocr.MAX_DET_SIDE)


def test_an_engine_failure_on_one_picture_is_ocr_failed(ocr_engine, monkeypatch):
    class ResizeImgError(Exception):  # what rapidocr raises: not a ValueError or RuntimeError
        pass

    def fail(*args, **kwargs):
        raise ResizeImgError("cannot resize")

    monkeypatch.setattr(ocr_engine, "_detect_and_read", fail)
    monkeypatch.setattr(ocr_engine, "_recognize_box", fail)
    screen = app_screen().image.copy()
    screen[0, 0] = (1, 2, 3)  # not cached
    with pytest.raises(ocr.OcrFailed, match="ResizeImgError cannot resize"):
        ocr_engine.read(screen)
    with pytest.raises(ocr.OcrFailed):
        ocr_engine.recognize(screen, (0, 0, 200, 100))


def test_an_onnxruntime_that_refuses_the_tuned_options_still_reads(monkeypatch):
    import onnxruntime

    class OldOptions(onnxruntime.SessionOptions):
        def add_session_config_entry(self, key, value):
            raise RuntimeError(f"unknown session config key {key}")

    monkeypatch.setattr(onnxruntime, "SessionOptions", OldOptions)
    engine = ocr.OcrEngine()
    engine.load()  # before: OcrUnavailable, no OCR at all
    assert engine._engine.cfg.Det.get("session") is None  # rapidocr built its own, from the bundled files
    assert "拒绝" in texts(engine.read(permission_zh().image))


def test_other_threads_see_the_engine_only_once_it_is_complete(monkeypatch):
    engine = ocr.OcrEngine()
    seen_while_building = []
    give = ocr._give_sessions

    def watched(rapid, paths):
        seen_while_building.append(engine._engine)  # what a reader in another thread would take and run
        give(rapid, paths)

    monkeypatch.setattr(ocr, "_give_sessions", watched)
    engine.load()
    # Before: the engine was published before its sessions were given and its models built (and reset to None on a
    # failure), so a concurrent read ran a half-built engine, or called None.
    assert seen_while_building == [None] and engine._engine is not None
