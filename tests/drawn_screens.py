"""Screens drawn with real CJK fonts (PIL), with what they show: dialog card, close crosses, the lines OCR must read.

Shared by the pixel tests (tests/unit/test_vision.py, test_ocr.py, test_ocr_engines.py, test_perceive_pixels_ads.py)
and by bench/ocr.py. A machine without the CJK fonts skips the test that draws (emulator.sim.fonts.FontsMissing).
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from emulator.sim.fonts import FontsMissing, cjk_font

W, H = 720, 1600
STATUS_BAR = 48
DIM = 0.45  # Android's default backgroundDimAmount is 0.6 for alert dialogs; 0.45 keeps it a harder case


@dataclass
class Screen:
    name: str
    image: np.ndarray  # BGR
    card: tuple[int, int, int, int] | None = None
    previous: np.ndarray | None = None  # the frame before the dialog appeared
    lines: list[str] = field(default_factory=list)  # key lines OCR must read (exact after normalisation)
    crosses: list[tuple[int, int, int, int]] = field(default_factory=list)
    dimmed: bool = False


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(str(cjk_font(bold)), size)
    except FontsMissing as error:
        pytest.skip(str(error))


def bgr(image: Image.Image) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


def status_bar(draw: ImageDraw.ImageDraw, dark: bool = False) -> None:
    colour = (255, 255, 255) if dark else (30, 30, 30)
    draw.text((24, 8), "10:42", fill=colour, font=font(26))
    draw.text((W - 110, 8), "87%", fill=colour, font=font(26))


def draw_app_screen() -> Image.Image:
    """A plain light app screen: toolbar, list rows with words that contain the letter x."""
    image = Image.new("RGB", (W, H), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, W, STATUS_BAR), fill=(240, 240, 240))
    status_bar(draw)
    draw.rectangle((0, STATUS_BAR, W, 160), fill=(33, 150, 243))
    draw.text((32, 78), "我的地图", fill=(255, 255, 255), font=font(38, bold=True))
    rows = ["附近的餐厅", "Export route to GPX", "Box tracking x2", "离线地图下载", "设置与隐私", "Exit navigation"]
    for i, text in enumerate(rows):
        top = 190 + i * 120
        draw.text((40, top + 30), text, fill=(33, 33, 33), font=font(34))
        draw.line((40, top + 110, W - 40, top + 110), fill=(220, 220, 220), width=2)
    draw.rounded_rectangle((W - 170, H - 200, W - 50, H - 80), radius=60, fill=(255, 87, 34))
    draw.text((W - 125, H - 165), "+", fill=(255, 255, 255), font=font(48))
    return image


def dim(image: Image.Image, amount: float = DIM) -> Image.Image:
    return Image.blend(image, Image.new("RGB", image.size, (0, 0, 0)), amount)


def centered(draw: ImageDraw.ImageDraw, y: int, text: str, font: ImageFont.FreeTypeFont, fill, x1: int, x2: int):
    width = draw.textlength(text, font=font)
    draw.text(((x1 + x2 - width) / 2, y), text, fill=fill, font=font)


def permission_dialog(name: str, title: list[str], buttons: list[str], dark: bool = False) -> Screen:
    background = draw_app_screen()
    image = dim(background, 0.6 if dark else DIM)
    draw = ImageDraw.Draw(image)
    card = (40, 880, W - 40, 1520)
    card_fill, text_fill, button_fill = ((45, 45, 48), (235, 235, 235), (62, 62, 66)) if dark else \
        ((255, 255, 255), (32, 32, 32), (232, 240, 254))
    draw.rounded_rectangle(card, radius=36, fill=card_fill)
    draw.ellipse((W // 2 - 28, 920, W // 2 + 28, 976), fill=(26, 115, 232))
    y = 1000
    for line in title:
        centered(draw, y, line, font(34), text_fill, card[0], card[2])
        y += 52
    y += 30
    for label in buttons:
        draw.rounded_rectangle((card[0] + 40, y, card[2] - 40, y + 76), radius=38, fill=button_fill)
        centered(draw, y + 16, label, font(32), (130, 177, 255) if dark else (25, 103, 210), card[0], card[2])
        y += 96
    return Screen(name, bgr(image), card=card, previous=bgr(background), lines=title + buttons, dimmed=True)


@functools.cache
def permission_zh() -> Screen:
    return permission_dialog("permission_zh", ["要允许“地图”获取此设备的", "位置信息吗？"],
                              ["仅在使用该应用时允许", "仅限这一次", "拒绝"])


@functools.cache
def permission_en() -> Screen:
    return permission_dialog("permission_en", ["Allow Maps to access this", "device's location?"],
                              ["While using the app", "Only this time", "Don't allow"])


@functools.cache
def permission_dark() -> Screen:
    return permission_dialog("permission_dark", ["要允许“地图”获取此设备的", "位置信息吗？"],
                              ["仅在使用该应用时允许", "仅限这一次", "拒绝"], dark=True)


@functools.cache
def splash_skip() -> Screen:
    """A launch-screen ad: full-bleed gradient picture, a translucent '跳过 3' pill top right."""
    ys = np.linspace(0, 1, H)[:, None, None]
    top, bottom = np.array([255, 140, 66]), np.array([190, 30, 90])
    rgb = (top * (1 - ys) + bottom * ys).repeat(W, axis=1).astype(np.uint8)
    image = Image.fromarray(rgb, "RGB")
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    pill = (W - 190, 80, W - 36, 140)
    ImageDraw.Draw(overlay).rounded_rectangle(pill, radius=30, fill=(0, 0, 0, 110))
    image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.text((pill[0] + 28, pill[1] + 12), "跳过 3", fill=(255, 255, 255), font=font(30))
    centered(draw, 640, "双十一 全场五折", font(64, bold=True), (255, 255, 255), 0, W)
    draw.rectangle((0, H - 220, W, H), fill=(255, 255, 255))
    centered(draw, H - 150, "好物商城", font(44, bold=True), (200, 30, 60), 0, W)
    return Screen("splash_skip", bgr(image), lines=["跳过 3", "双十一 全场五折"])


@functools.cache
def ad_card_cross() -> Screen:
    """A promotion card over the dimmed app, with a circled X close button below it."""
    image = dim(draw_app_screen(), 0.55)
    draw = ImageDraw.Draw(image)
    card = (90, 420, W - 90, 1140)
    draw.rounded_rectangle(card, radius=28, fill=(255, 255, 255))
    draw.rounded_rectangle((card[0], card[1], card[2], card[1] + 360), radius=28, fill=(255, 214, 102))
    draw.rectangle((card[0], card[1] + 300, card[2], card[1] + 360), fill=(255, 214, 102))
    centered(draw, card[1] + 130, "新人专享红包", font(56, bold=True), (200, 30, 30), card[0], card[2])
    centered(draw, card[1] + 420, "限时领取 100 元优惠券", font(34), (60, 60, 60), card[0], card[2])
    draw.rounded_rectangle((card[0] + 60, card[3] - 150, card[2] - 60, card[3] - 60), radius=45, fill=(230, 40, 40))
    centered(draw, card[3] - 128, "立即领取", font(38, bold=True), (255, 255, 255), card[0], card[2])
    cx, cy, r = W // 2, 1250, 36
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(235, 235, 235), width=4)
    arm = 15
    draw.line((cx - arm, cy - arm, cx + arm, cy + arm), fill=(235, 235, 235), width=5)
    draw.line((cx - arm, cy + arm, cx + arm, cy - arm), fill=(235, 235, 235), width=5)
    return Screen("ad_card_cross", bgr(image), card=card, lines=["新人专享红包", "立即领取"],
                  crosses=[(cx - r, cy - r, cx + r, cy + r)], dimmed=True)


@functools.cache
def app_screen() -> Screen:
    return Screen("app_screen", bgr(draw_app_screen()), lines=["我的地图", "Export route to GPX", "离线地图下载"])


@functools.cache
def black_screen() -> Screen:
    return Screen("black_screen", np.zeros((H, W, 3), np.uint8))


def rendered_screens() -> list[Screen]:
    return [permission_zh(), permission_en(), permission_dark(), splash_skip(), ad_card_cross(), app_screen(),
            black_screen()]


def png_bytes(img: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(img[:, :, ::-1]).save(buffer, format="PNG")
    return buffer.getvalue()
