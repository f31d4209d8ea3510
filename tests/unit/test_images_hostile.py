"""Screenshots as a hostile device sends them: a decoder's warnings never reach stderr (libpng and libjpeg printed
them there, in front of our one-line error), and a tiny but valid screenshot is read, not refused."""

from __future__ import annotations

import numpy as np
import pytest

from crawler.inspection import inspect_screen
from crawler.perceive import vision
from tests.cli_runner import naysayer, one_line_error
from tests.fuzz.images import _bases, build_png, encode, png_chunks, structural_cases


def _idat_damaged() -> bytes:
    """A PNG whose pixel stream is corrupt but whose chunk CRCs are right: only the decoder can notice."""
    chunks = png_chunks(dict(_bases())["png-rgb"])
    idat = bytearray(b"".join(d for k, d in chunks if k == b"IDAT"))
    idat[40] ^= 0xFF
    return build_png([chunks[0], (b"IDAT", bytes(idat)), (b"IEND", b"")])


def test_a_damaged_pixel_stream_is_one_line_on_stderr(tmp_path):
    png = tmp_path / "s.png"
    png.write_bytes(_idat_damaged())
    result = naysayer("inspect", "--png", str(png), "--no-ocr")
    one_line_error(result, "not a decodable PNG/JPEG image")
    assert "libpng" not in result.stderr


@pytest.mark.parametrize("name", ["png-bad-iccp", "png-bad-srgb", "jpeg-extraneous-bytes", "png-unknown-ancillary"])
def test_a_screenshot_with_odd_chunks_decodes_with_nothing_on_stderr(tmp_path, name):
    data = next(d for n, d, _ in structural_cases(_bases()) if n == name)
    png = tmp_path / "s.img"
    png.write_bytes(data)
    result = naysayer("inspect", "--png", str(png), "--no-ocr")
    assert result.returncode == 0 and result.stderr == "", result.stderr  # "libpng warning: iCCP..." was here


def test_pixels_are_the_ones_opencv_decoded():
    import cv2

    for name, data in _bases():
        if name in ("png-16bit-grey", "jpeg-cmyk", "jpeg-exif-rotated"):
            continue  # OpenCV scales 16-bit differently, converts CMYK and turns EXIF-rotated images itself
        ours = vision.decode(data)
        theirs = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert ours.shape == theirs.shape and int(np.abs(ours.astype(int) - theirs).max()) <= 1, name


def test_a_17x17_screenshot_is_read_not_refused(tmp_path):
    # its top strip was (0, 1, 17, 3): "OCR region (0, 1, 17, 3) is outside the 17x17 image"
    png = tmp_path / "tiny.png"
    img = np.full((17, 17, 3), 250, np.uint8)
    img[6:11, 4:13] = 20
    png.write_bytes(encode(img))
    result = inspect_screen(None, png, use_ocr=True)
    assert result["pixel_error"] is None and result["scene"] == "app"
