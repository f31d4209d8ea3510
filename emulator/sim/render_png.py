"""The screenshot of a screen: a PNG drawn with Pillow and real CJK fonts, so OCR reads real glyphs.

Windows are drawn bottom to top; a window with `dim_behind` first darkens everything drawn so far (black at 50%).
The status bar is drawn over the bottom windows, under the first dimming dialog (as on a phone).
Encoded PNGs are cached by a hash of the screen content, so an unchanged screen costs a hash, not a redraw.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import threading
from collections import OrderedDict

from PIL import Image, ImageDraw, ImageFont

from emulator.sim.fonts import cjk_font
from emulator.sim.view import Screen, Style, ViewNode

DIM_LUT = [v // 2 for v in range(256)] * 3  # black at 50% alpha over an RGB image
CACHE_SIZE = 64
MAX_TEXT_CHARS = 2000  # hostile text is bounded before layout; what fits in the bounds is far less
DEFAULT_TEXT_COLOR = Style().color
BUTTON_FILL = "#e8f0fe"
BUTTON_TEXT = "#1a73e8"
_UNDRAWABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


# ---------------------------------------------------------------- fonts

@functools.cache
def _face_index(path: str) -> int:
    """The Simplified Chinese face of a font collection (Noto Sans CJK SC is index 2 of NotoSansCJK-*.ttc)."""
    if not path.endswith(".ttc"):
        return 0
    for index in range(16):
        try:
            family = ImageFont.truetype(path, 12, index=index).getname()[0]
        except OSError:
            break
        if family.endswith(" SC"):
            return index
    return 0


@functools.cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    path = str(cjk_font(bold))
    return ImageFont.truetype(path, size, index=_face_index(path))


# ---------------------------------------------------------------- text layout

def _is_wide(ch: str) -> bool:
    return ord(ch) >= 0x2E80  # CJK and fullwidth: a line may break before any such character


def _tokens(text: str) -> list[str]:
    """Break opportunities: a word with its trailing spaces, or one wide character."""
    tokens: list[str] = []
    word = ""
    for ch in text:
        if _is_wide(ch):
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        elif ch == " ":
            word += ch
        else:
            if word.endswith(" "):
                tokens.append(word)
                word = ""
            word += ch
    if word:
        tokens.append(word)
    return tokens


def _split_long(token: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    pieces, current = [], ""
    for ch in token:
        if current and face.getlength(current + ch) > width:
            pieces.append(current)
            current = ""
        current += ch
    return pieces + ([current] if current else [])


@functools.lru_cache(maxsize=4096)
def wrap(text: str, size: int, bold: bool, width: int, max_lines: int) -> tuple[str, ...]:
    """Greedy line breaking of `text` into at most `max_lines` lines no wider than `width` px."""
    face = font(size, bold)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _tokens(paragraph):
            candidate = line + token
            if face.getlength(candidate.rstrip()) <= width or not line and face.getlength(token) <= width:
                line = candidate
                continue
            if line:
                lines.append(line.rstrip())
            line = ""
            if face.getlength(token.rstrip()) > width:
                *full, line = _split_long(token, face, width)
                lines.extend(full)
            else:
                line = token
            if len(lines) >= max_lines:
                return tuple(lines[:max_lines])
        lines.append(line.rstrip())
        if len(lines) >= max_lines:
            break
    return tuple(lines[:max_lines])


def clean_text(text: str) -> str:
    return _UNDRAWABLE.sub("", text[:MAX_TEXT_CHARS])


# ---------------------------------------------------------------- per-class defaults

def _is_button(node: ViewNode) -> bool:
    return node.cls.endswith("Button") and "Radio" not in node.cls and "Image" not in node.cls


def _is_checkbox(node: ViewNode) -> bool:
    return node.checkable and (node.cls.endswith("CheckBox") or node.cls.endswith("Switch"))


def _text_size(node: ViewNode) -> int:
    if node.style.size:
        return node.style.size
    rid = node.resource_id.lower()
    if "title" in rid:
        return 36
    return 28


def _text_bold(node: ViewNode) -> bool:
    return node.style.bold or (not node.style.size and (_is_button(node) or "title" in node.resource_id.lower()))


# ---------------------------------------------------------------- icons

def _draw_icon(draw: ImageDraw.ImageDraw, node: ViewNode) -> None:
    x1, y1, x2, y2 = node.bounds
    w, h = x2 - x1, y2 - y1
    if w <= 0 or h <= 0:
        return
    style = node.style
    side = min(w, h)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    stroke = max(2, side // 12)
    color = style.color
    icon = style.icon
    if icon == "x":
        if style.background:
            draw.ellipse((cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), fill=style.background,
                         outline=style.border)
        elif style.border:
            draw.ellipse((cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), outline=style.border,
                         width=max(1, stroke // 2))
        arm = side * 0.22
        draw.line((cx - arm, cy - arm, cx + arm, cy + arm), fill=color, width=stroke)
        draw.line((cx - arm, cy + arm, cx + arm, cy - arm), fill=color, width=stroke)
    elif icon == "back":
        arm = side * 0.28
        draw.line((cx - arm, cy, cx + arm, cy), fill=color, width=stroke)
        draw.line((cx - arm, cy, cx, cy - arm), fill=color, width=stroke)
        draw.line((cx - arm, cy, cx, cy + arm), fill=color, width=stroke)
    elif icon == "check":
        arm = side * 0.3
        draw.line((cx - arm, cy, cx - arm / 3, cy + arm * 0.7, cx + arm, cy - arm * 0.6), fill=color, width=stroke,
                  joint="curve")
    elif icon == "image":
        draw.rectangle((x1, y1, x2 - 1, y2 - 1), fill=style.background or "#9fc5e8")
        r = side * 0.12
        draw.ellipse((x1 + w * 0.7 - r, y1 + h * 0.28 - r, x1 + w * 0.7 + r, y1 + h * 0.28 + r), fill="#fff2cc")
        draw.polygon([(x1 + w * 0.1, y2 - h * 0.15), (x1 + w * 0.4, y1 + h * 0.4), (x1 + w * 0.65, y2 - h * 0.15)],
                     fill="#38761d")
        draw.polygon([(x1 + w * 0.45, y2 - h * 0.15), (x1 + w * 0.68, y1 + h * 0.5), (x1 + w * 0.9, y2 - h * 0.15)],
                     fill="#6aa84f")
    elif icon == "logo":
        fill = style.background or _stable_colour(node.text or node.package or node.resource_id)
        draw.rounded_rectangle((cx - side / 2, cy - side / 2, cx + side / 2 - 1, cy + side / 2 - 1),
                               radius=max(2, side // 5), fill=fill)
        draw.ellipse((cx - side * 0.22, cy - side * 0.22, cx + side * 0.22, cy + side * 0.22), fill="#ffffff")


def _stable_colour(seed: str) -> str:
    digest = hashlib.blake2b(seed.encode("utf-8", "backslashreplace"), digest_size=3).digest()
    r, g, b = (60 + c % 150 for c in digest)
    return f"#{r:02x}{g:02x}{b:02x}"


# ---------------------------------------------------------------- nodes

def _draw_box(draw: ImageDraw.ImageDraw, node: ViewNode) -> None:
    x1, y1, x2, y2 = node.bounds
    if x2 <= x1 or y2 <= y1:
        return
    style = node.style
    fill = style.background
    outline = style.border
    radius = style.radius
    if fill is None and outline is None and _is_button(node) and style == Style():
        fill, radius = BUTTON_FILL, 12  # an unstyled Button still looks like a button
    if fill is None and outline is None:
        return
    box = (x1, y1, x2 - 1, y2 - 1)
    if radius:
        draw.rounded_rectangle(box, radius=radius, fill=fill, outline=outline, width=2 if outline else 1)
    else:
        draw.rectangle(box, fill=fill, outline=outline, width=2 if outline else 1)


def _draw_checkbox(draw: ImageDraw.ImageDraw, node: ViewNode) -> int:
    """The box of a CheckBox at the left of its bounds; returns the x where its label starts."""
    x1, y1, _, y2 = node.bounds
    side = min(36, y2 - y1 - 4)
    top = (y1 + y2 - side) // 2
    box = (x1 + 6, top, x1 + 6 + side, top + side)
    if node.checked:
        draw.rounded_rectangle(box, radius=4, fill=BUTTON_TEXT)
        draw.line((box[0] + side * 0.2, top + side * 0.5, box[0] + side * 0.42, top + side * 0.72,
                   box[0] + side * 0.8, top + side * 0.28), fill="#ffffff", width=3)
    else:
        draw.rounded_rectangle(box, radius=4, outline="#5f6368", width=3)
    return box[2] + 14


def _draw_text(draw: ImageDraw.ImageDraw, node: ViewNode, left: int) -> None:
    text = clean_text(node.text)
    if not text.strip():
        return
    _, y1, x2, y2 = node.bounds
    pad = 8 if x2 - left > 40 else 0
    width = x2 - left - 2 * pad
    height = y2 - y1
    if width <= 4 or height <= 4:
        return
    size = _text_size(node)
    bold = _text_bold(node)
    line_height = int(size * 1.35)
    max_lines = max(1, height // line_height)
    lines = wrap(text, size, bold, width, max_lines)
    face = font(size, bold)
    color = node.style.color
    if _is_button(node) and node.style == Style():
        color = BUTTON_TEXT
    if not node.enabled:
        color = "#9aa0a6"
    block = line_height * len(lines)
    y = y1 + max(0, (height - block) // 2)
    align = node.style.align if not (_is_button(node) and node.style == Style()) else "center"
    for line in lines:
        line_width = face.getlength(line)
        if align == "center":
            x = left + pad + (width - line_width) / 2
        elif align == "right":
            x = x2 - pad - line_width
        else:
            x = left + pad
        draw.text((x, y + (line_height - size) // 2), line, font=face, fill=color, anchor="la")
        y += line_height


def _draw_node(draw: ImageDraw.ImageDraw, node: ViewNode) -> None:
    _draw_box(draw, node)
    if node.style.icon:
        _draw_icon(draw, node)
    else:
        left = _draw_checkbox(draw, node) if _is_checkbox(node) else node.bounds[0]
        if node.text:
            _draw_text(draw, node, left)
    for child in node.children:
        _draw_node(draw, child)


# ---------------------------------------------------------------- status bar

def _draw_status_bar(image: Image.Image, screen: Screen) -> None:
    height = screen.status_bar_height
    if height <= 0:
        return
    r, g, b = image.getpixel((screen.width // 2, min(height + 1, screen.height - 1)))[:3]
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, screen.width, height - 1), fill=(r, g, b))
    ink = "#202124" if (r * 299 + g * 587 + b * 114) / 1000 > 140 else "#ffffff"
    size = max(12, int(height * 0.5))
    draw.text((24, (height - size) // 2), clean_text(screen.clock_text)[:16], font=font(size, True), fill=ink)
    # battery, wifi and signal, right to left
    right = screen.width - 24
    bh, bw = int(height * 0.4), int(height * 0.75)
    top = (height - bh) // 2
    draw.rectangle((right - bw, top, right, top + bh), outline=ink, width=2)
    draw.rectangle((right - bw + 4, top + 4, right - 8, top + bh - 4), fill=ink)
    draw.rectangle((right + 1, top + bh // 3, right + 3, top + 2 * bh // 3), fill=ink)
    x = right - bw - 20
    base = top + bh
    for i in range(4):
        bar_h = bh * (i + 1) // 4
        draw.rectangle((x - 24 + i * 6, base - bar_h, x - 21 + i * 6, base), fill=ink)
    x -= 40
    for radius in (bh, bh * 2 // 3, bh // 3):
        draw.arc((x - radius, base - radius, x + radius, base + radius), 225, 315, fill=ink, width=3)


# ---------------------------------------------------------------- frames

def draw_screen(screen: Screen) -> Image.Image:
    if any(window.secure for window in screen.windows):
        return Image.new("RGB", (screen.width, screen.height), "#000000")  # what screencap gets under FLAG_SECURE
    image = Image.new("RGB", (screen.width, screen.height), "#ffffff")
    status_bar_drawn = False
    for window in screen.windows:
        if window.dim_behind:
            if not status_bar_drawn:
                _draw_status_bar(image, screen)
                status_bar_drawn = True
            image = image.point(DIM_LUT)
        _draw_node(ImageDraw.Draw(image), window.root)
    if not status_bar_drawn:
        _draw_status_bar(image, screen)
    return image


def screen_digest(screen: Screen) -> bytes:
    """A hash of everything that is drawn (the dataclass repr covers every field of every node)."""
    return hashlib.blake2b(repr(screen).encode("utf-8", "backslashreplace"), digest_size=20).digest()


_cache: OrderedDict[bytes, bytes] = OrderedDict()
_cache_lock = threading.Lock()
_draw_lock = threading.Lock()  # FreeType faces are shared between adb stream threads; draw one frame at a time


def render_png(screen: Screen) -> bytes:
    """The screenshot of `screen` as PNG bytes (deterministic for the same screen; LRU-cached)."""
    key = screen_digest(screen)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    with _draw_lock:
        image = draw_screen(screen)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    data = buffer.getvalue()
    with _cache_lock:
        _cache[key] = data
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return data


SCREENSHOT_FAULTS = ("truncated", "empty", "corrupt", "garbage", "huge")


def damaged_png(png: bytes, fault: str) -> bytes:
    """A screenshot as a misbehaving device returns it (SimDevice.inject_fault("screenshot", fault))."""
    import struct
    import zlib

    if fault == "truncated":
        return png[: len(png) // 2]
    if fault == "empty":
        return b""
    if fault == "corrupt":  # the PNG signature and header survive; the image data does not
        middle = len(png) // 2
        return png[:middle] + bytes(b ^ 0x5A for b in png[middle:middle + 512]) + png[middle + 512:]
    if fault == "garbage":
        return b"screencap: SurfaceFlinger: Permission Denial: can't read framebuffer\n"
    if fault == "huge":  # a well-formed header claiming 900 Mpx: decoding it blindly would allocate gigabytes
        header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
        crc = struct.pack(">I", zlib.crc32(b"IHDR" + header))
        return png[:8] + struct.pack(">I", len(header)) + b"IHDR" + header + crc + png[33:]
    raise ValueError(f"unknown screenshot fault {fault!r} (known: {', '.join(SCREENSHOT_FAULTS)})")
