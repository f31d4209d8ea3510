"""Ads recognised from pixels alone (no hierarchy), on screens drawn here with real fonts and read by the real OCR
engine: a full-screen interstitial is closed by its drawn X (found by vision, the tap lands on the X's box) or by its
"No thanks" line; a dimmed pop-up card by the round X below it; a banner row in a list with an "Ad" badge and an
"INSTALL" button is no pop-up, and neither are screens with an X of their own: a login page, a photo viewer and a
video page whose icon rows say "下载" / "Download", a share sheet with a "Download" target, an onboarding page with
"Skip", a feature announcement card with an X and "Learn more"."""

from __future__ import annotations

import functools

import pytest
from PIL import Image, ImageDraw

from crawler.perceive import perceive, vision
from crawler.perceive.ocr import OcrEngine
from crawler.screen import Hierarchy
from tests.drawn_screens import H, W, ad_card_cross, bgr, centered, dim, draw_app_screen, font, png_bytes


def scene_of(image: Image.Image | bytes, engine: OcrEngine):
    png = image if isinstance(image, bytes) else png_bytes(bgr(image))
    return perceive(Hierarchy.empty((0, 0, W, H)), png, engine)


def draw_cross(draw: ImageDraw.ImageDraw, cx: int, cy: int, arm: int = 14, ring: bool = True) -> tuple:
    r = arm * 2 + 4
    if ring:
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(60, 60, 60))
    draw.line((cx - arm, cy - arm, cx + arm, cy + arm), fill=(255, 255, 255), width=5)
    draw.line((cx - arm, cy + arm, cx + arm, cy - arm), fill=(255, 255, 255), width=5)
    return (cx - r, cy - r, cx + r, cy + r)


@functools.cache
def interstitial(close: str) -> tuple[bytes, tuple | None]:
    """An app-install interstitial covering the screen: banner picture, app name, stars, INSTALL; closed by an X in
    the top-right corner ("x") or by a "NO THANKS" button ("text")."""
    image = Image.new("RGB", (W, H), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, W, 560), fill=(30, 90, 140))
    centered(draw, 240, "Earn more cash back", font(44, bold=True), (255, 255, 255), 0, W)
    draw.rounded_rectangle((W // 2 - 80, 620, W // 2 + 80, 780), radius=30, fill=(40, 120, 200))
    centered(draw, 820, "Wallet by CreditCards", font(40), (33, 33, 33), 0, W)
    centered(draw, 890, "4.5 ★ FREE", font(30), (90, 90, 90), 0, W)
    centered(draw, 1000, "Maximize your rewards every day", font(30), (90, 90, 90), 0, W)
    box = None
    if close == "x":
        box = draw_cross(draw, W - 56, 60)
        draw.rounded_rectangle((60, 1380, W - 60, 1480), radius=12, fill=(67, 160, 71))
        centered(draw, 1408, "INSTALL", font(40, bold=True), (255, 255, 255), 60, W - 60)
    else:
        draw.rectangle((40, 1380, W // 2 - 20, 1480), fill=(120, 144, 156))
        centered(draw, 1410, "NO THANKS", font(34), (255, 255, 255), 40, W // 2 - 20)
        draw.rectangle((W // 2 + 20, 1380, W - 40, 1480), fill=(255, 255, 255), outline=(200, 200, 200))
        centered(draw, 1410, "INSTALL", font(34), (30, 120, 200), W // 2 + 20, W - 40)
    return png_bytes(bgr(image)), box


def banner_in_list() -> Image.Image:
    """A radio station list with one sponsored row: "Ad" badge, an app name and an INSTALL button, and no close."""
    image = Image.new("RGB", (W, H), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, W, 160), fill=(33, 150, 243))
    draw.text((32, 70), "Simple Radio", fill=(255, 255, 255), font=font(40, bold=True))
    draw.rectangle((24, 190, 80, 226), fill=(255, 193, 7))
    draw.text((32, 192), "Ad", fill=(0, 0, 0), font=font(26, bold=True))
    draw.text((120, 240), "Vuevent", fill=(33, 33, 33), font=font(36, bold=True))
    draw.text((120, 290), "Find events near you", fill=(90, 90, 90), font=font(28))
    draw.rectangle((W - 200, 250, W - 40, 320), fill=(67, 160, 71))
    draw.text((W - 176, 264), "INSTALL", fill=(255, 255, 255), font=font(32, bold=True))
    for i, name in enumerate(["WILL AM 580", "NPR Washington", "89 WLS Chicago", "BBC World Service", "WHIO 95.7FM"]):
        top = 380 + i * 180
        draw.text((120, top + 40), name, fill=(33, 33, 33), font=font(36))
        draw.line((24, top + 150, W - 24, top + 150), fill=(220, 220, 220), width=2)
    return image


def login_page() -> Image.Image:
    """A login page closed by an X in its top-left corner: a corner X alone is no ad."""
    image = Image.new("RGB", (W, H), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.line((36, 60, 76, 100), fill=(40, 40, 40), width=5)
    draw.line((36, 100, 76, 60), fill=(40, 40, 40), width=5)
    draw.text((60, 260), "SMS verification code", fill=(33, 33, 33), font=font(44, bold=True))
    draw.text((60, 420), "+86  Mobile number", fill=(120, 120, 120), font=font(34))
    draw.text((60, 560), "Verification code", fill=(120, 120, 120), font=font(34))
    draw.rounded_rectangle((60, 760, W - 60, 860), radius=50, fill=(255, 130, 0))
    centered(draw, 786, "Login", font(38, bold=True), (255, 255, 255), 60, W - 60)
    return image


def photo_viewer():
    """A photo viewer (zh): black, the photo, an X in the top-left corner, a bottom bar 下载 / 分享 / 编辑."""
    image = Image.new("RGB", (W, H), (0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.text((24, 8), "10:42", fill=(255, 255, 255), font=font(26))
    draw_cross(draw, 60, 110, arm=16, ring=False)
    centered(draw, 92, "3/12", font(34), (255, 255, 255), 0, W)
    for y in range(420, 1100):
        draw.line((0, y, W, y), fill=(40 + (y - 420) // 6, 110, 160))
    draw.ellipse((200, 560, 520, 880), fill=(240, 200, 80))
    for i, label in enumerate(["下载", "分享", "编辑", "删除"]):
        cx = 90 + i * 180
        draw.rounded_rectangle((cx - 24, 1400, cx + 24, 1448), radius=8, outline=(255, 255, 255), width=4)
        centered(draw, 1466, label, font(28), (255, 255, 255), cx - 80, cx + 80)
    return image


def video_player():
    """A video page: the video on top with an X in its top-left corner, title, and a row Like / Share / Download."""
    image = Image.new("RGB", (W, H), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, W, 460), fill=(10, 10, 10))
    draw.text((24, 8), "10:42", fill=(255, 255, 255), font=font(26))
    draw_cross(draw, 56, 100, arm=16, ring=False)
    draw.polygon([(320, 190), (320, 290), (410, 240)], fill=(255, 255, 255))
    draw.text((32, 500), "Episode 3: The long road home", fill=(20, 20, 20), font=font(38, bold=True))
    draw.text((32, 560), "1.2M views · 2 days ago", fill=(100, 100, 100), font=font(28))
    for i, label in enumerate(["Like", "Share", "Download", "Save"]):
        cx = 90 + i * 180
        draw.ellipse((cx - 26, 640, cx + 26, 692), outline=(60, 60, 60), width=4)
        centered(draw, 706, label, font(26), (60, 60, 60), cx - 90, cx + 90)
    for i in range(4):
        top = 820 + i * 190
        draw.rectangle((32, top, 300, top + 150), fill=(180, 190, 200))
        draw.text((330, top + 20), f"Up next: part {i + 4}", fill=(30, 30, 30), font=font(30))
    return image


def share_sheet():
    """A share sheet over the dimmed app: title, an X at its top-right corner, targets WeChat / Moments / Copy link /
    Download."""
    image = dim(draw_app_screen(), 0.5)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 980, W, H + 40), radius=36, fill=(255, 255, 255))
    draw.text((40, 1030), "Share to", fill=(20, 20, 20), font=font(36, bold=True))
    draw.line((W - 80, 1030, W - 44, 1066), fill=(90, 90, 90), width=5)
    draw.line((W - 80, 1066, W - 44, 1030), fill=(90, 90, 90), width=5)
    for i, label in enumerate(["WeChat", "Moments", "Copy link", "Download"]):
        cx = 100 + i * 175
        draw.ellipse((cx - 50, 1140, cx + 50, 1240), fill=(7 + i * 40, 193, 96))
        centered(draw, 1262, label, font(26), (60, 60, 60), cx - 85, cx + 85)
    draw.rectangle((0, H - 130, W, H), fill=(245, 245, 245))
    centered(draw, H - 100, "Cancel", font(34), (30, 30, 30), 0, W)
    return image


def onboarding(zh=False):
    """An onboarding carousel page: Skip / 跳过 at the top right, a picture, a title, dots, Next / 立即体验."""
    image = Image.new("RGB", (W, H), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.text((24, 8), "10:42", fill=(30, 30, 30), font=font(26))
    draw.text((W - 130, 80), "跳过" if zh else "Skip", fill=(120, 120, 120), font=font(32))
    draw.ellipse((160, 300, 560, 700), fill=(255, 205, 210))
    centered(draw, 800, "记录每一次奔跑" if zh else "Track every run", font(44, bold=True), (20, 20, 20), 0, W)
    centered(draw, 880, "配速、心率与路线一目了然" if zh else "Pace, heart rate and route at a glance",
              font(30), (110, 110, 110), 0, W)
    for i in range(3):
        draw.ellipse((320 + i * 30, 1000, 336 + i * 30, 1016), fill=(255, 87, 34) if i == 2 else (200, 200, 200))
    draw.rounded_rectangle((80, 1340, W - 80, 1440), radius=50, fill=(255, 87, 34))
    centered(draw, 1366, "立即体验" if zh else "Get started", font(38, bold=True), (255, 255, 255), 80, W - 80)
    return image


def whats_new(zh=False):
    """A feature announcement over the dimmed app: a card with an X at its top-right corner and a Learn more button."""
    image = dim(draw_app_screen(), 0.5)
    draw = ImageDraw.Draw(image)
    x1, y1, x2, y2 = 80, 520, W - 80, 1100
    draw.rounded_rectangle((x1, y1, x2, y2), radius=24, fill=(255, 255, 255))
    draw.line((x2 - 64, y1 + 28, x2 - 32, y1 + 60), fill=(120, 120, 120), width=5)
    draw.line((x2 - 64, y1 + 60, x2 - 32, y1 + 28), fill=(120, 120, 120), width=5)
    centered(draw, y1 + 110, "新功能：深色模式" if zh else "New: dark mode", font(40, bold=True), (20, 20, 20), x1, x2)
    centered(draw, y1 + 200, "夜间阅读更护眼" if zh else "Easier on your eyes at night", font(30), (100, 100, 100),
              x1, x2)
    draw.rounded_rectangle((x1 + 60, y2 - 150, x2 - 60, y2 - 60), radius=45, fill=(33, 150, 243))
    centered(draw, y2 - 126, "了解更多" if zh else "Learn more", font(34, bold=True), (255, 255, 255), x1 + 60, x2 - 60)
    return image


def test_interstitial_is_closed_by_its_corner_x_found_by_vision(ocr_engine):
    png, box = interstitial("x")
    scene = scene_of(png, ocr_engine)
    assert scene.kind == "ad_popup", scene.text
    close = scene.actions["close"]
    assert close.source == "vision"
    cx, cy = close.center
    assert box[0] <= cx <= box[2] and box[1] <= cy <= box[3]  # the tap lands on the drawn X
    assert close.bounds in [tuple(b) for b in vision.close_crosses(vision.decode(png))]
    assert scene.actions["cta"].text == "INSTALL" and scene.actions["cta"].source == "ocr"


def test_interstitial_without_x_is_closed_by_its_no_thanks_line(ocr_engine):
    png, _ = interstitial("text")
    scene = scene_of(png, ocr_engine)
    assert scene.kind == "ad_popup", scene.text
    assert scene.actions["close"].text == "NO THANKS" and scene.actions["close"].source == "ocr"


def test_dimmed_card_ad_is_closed_by_the_round_x_below_it(ocr_engine):
    screen = ad_card_cross()
    scene = scene_of(png_bytes(screen.image), ocr_engine)
    assert scene.kind == "ad_popup", scene.text
    close = scene.actions["close"]
    x1, y1, x2, y2 = screen.crosses[0]
    assert close.source == "vision" and x1 <= close.center[0] <= x2 and y1 <= close.center[1] <= y2


def test_banner_row_with_ad_badge_and_install_is_no_pop_up(ocr_engine):
    assert scene_of(banner_in_list(), ocr_engine).kind == "app"


def test_corner_x_without_an_ad_is_no_pop_up(ocr_engine):
    image = login_page()
    assert vision.close_crosses(bgr(image))  # the X is seen ...
    assert scene_of(image, ocr_engine).kind == "app"  # ... and is not enough


@pytest.mark.parametrize("draw", [photo_viewer, video_player, share_sheet, onboarding,
                                  functools.partial(onboarding, zh=True), whats_new, functools.partial(whats_new, zh=True)],
                         ids=["photo_viewer", "video_player", "share_sheet", "onboarding", "onboarding_zh", "whats_new",
                              "whats_new_zh"])
def test_screens_with_their_own_x_or_skip_are_no_ads(ocr_engine, draw):
    # Before: an X (the viewer's, the sheet's) next to a bare "Download" / "下载" icon label was an ad pop-up, and so
    # was a dimmed card with an X and a "Learn more" button.
    scene = scene_of(draw(), ocr_engine)
    assert scene.kind not in ("ad_popup", "splash_ad"), (scene.kind, scene.text)
