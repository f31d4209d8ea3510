"""Screen facts from pixels alone, for screens the UI hierarchy cannot see (WebView, Flutter, games, vendor overlays).

Every function takes a decoded BGR image of any resolution; thresholds are tuned on 1080-wide screens and scaled by
the image width. Techniques and numbers: /work/shared/reference/ocr.md ("OpenCV ... per decoded 1080x2400 image").
"""

from __future__ import annotations

import functools
import io

import cv2
import numpy as np

from crawler.errors import UserError

Bounds = tuple[int, int, int, int]

REFERENCE_WIDTH = 1080  # thresholds below are in pixels of a 1080-wide screen
WORK_SCALE = 4  # most checks run at 1/4 resolution: same answers, 16x fewer pixels
DIM_LEVEL = 170  # the brightest 1% of a dimmed strip stays below this (max of R,G,B)
BRIGHT_CARD_LEVEL = 200  # light dialog cards are at least this bright (max of R,G,B)
# Screenshot bounds: the largest phone screens are 1440x3200 (4.6 Mpx); tablets and foldables stay under 16 Mpx.
MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 16384
MIN_SIDE = 16
IMAGE_FORMATS = ("PNG", "JPEG")


class BadImage(UserError, ValueError):
    """The screenshot bytes or array cannot be used as an image."""


# The last screenshot decoded, by identity: a crawl step hands the same bytes object to the blank-screen check and
# to perception, and inspect reads its size before perceiving; decoding a 1080x2400 PNG costs 10-20 ms each time.
_last_decoded: tuple[bytes, np.ndarray] | None = None


def decode(image: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    """PNG/JPEG bytes or an array -> a contiguous uint8 BGR array (H, W, 3). The same `bytes` object decoded again
    gives the same array, read-only (bytes cannot change; the array must not either)."""
    global _last_decoded
    if isinstance(image, np.ndarray):
        return _as_bgr(image)
    last = _last_decoded
    if last is not None and last[0] is image:
        return last[1]
    if not isinstance(image, (bytes, bytearray, memoryview)):
        raise BadImage(f"screenshot: expected PNG/JPEG bytes or a numpy array, got {type(image).__name__}")
    data = np.frombuffer(image, dtype=np.uint8)
    if data.size == 0:
        raise BadImage("screenshot: empty image data (0 bytes)")
    if data.size > MAX_IMAGE_BYTES:
        raise BadImage(f"screenshot: {data.size} bytes is too large (limit {MAX_IMAGE_BYTES})")
    width, height = image_size(image)
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise BadImage(f"screenshot: {width}x{height} pixels is too large to be a phone screen "
                       f"(limit {MAX_PIXELS} pixels, {MAX_SIDE} per side)")
    if min(width, height) < MIN_SIDE:
        raise BadImage(f"screenshot: {width}x{height} pixels is too small to be a phone screen")
    decoded = _pillow_decode(image)
    if decoded is None or decoded.size == 0:
        raise BadImage(f"screenshot: {data.size} bytes are not a decodable PNG/JPEG image (corrupt or truncated?)")
    if type(image) is bytes:
        decoded.flags.writeable = False
        _last_decoded = (image, decoded)
    return decoded


def _pillow_decode(image: bytes | bytearray | memoryview) -> np.ndarray | None:
    """BGR pixels, decoded by Pillow alone. OpenCV's imdecode hands damaged PNG/JPEG data to libpng/libjpeg, which
    print warnings ("libpng warning: iCCP: ...", "Corrupt JPEG data: ...") on the process's stderr, in front of the
    one-line error (or the output) of a command; Pillow's decoders report through exceptions only. The pixels are the
    same (8-bit RGB, alpha dropped; 16-bit grey scaled to 8 bits as OpenCV does)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(bytes(image)), formats=IMAGE_FORMATS) as img:
            img.load()
            if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
                grey = np.asarray(img.convert("I"), dtype=np.int64) >> (8 if img.mode != "I" else 0)
                return cv2.cvtColor(np.clip(grey, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
            rgb = img if img.mode == "RGB" else img.convert("RGB")
            return cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR)
    except MemoryError:
        raise
    except Exception as error:  # noqa: BLE001 - Pillow raises many kinds on damaged data (OSError, SyntaxError...)
        raise BadImage(f"screenshot: {len(image)} bytes are not a decodable PNG/JPEG image (corrupt or truncated? "
                       f"{type(error).__name__})") from None


def image_size(image: bytes | bytearray | memoryview) -> tuple[int, int]:
    """(width, height) from the image header alone: a 20-byte PNG may claim 100000x100000 pixels, and decoding it
    first would allocate 30 GB. Raises BadImage for bytes that are no image format at all."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(bytes(image)), formats=IMAGE_FORMATS) as header:  # reads the header only
            if header.format not in IMAGE_FORMATS:
                raise BadImage(f"screenshot: a {header.format} image, expected PNG or JPEG")
            size = header.size
            if header.format == "PNG" and size[0] * size[1] <= MAX_PIXELS:
                header.verify()  # chunk CRCs and the end chunk, without inflating: catches cut and damaged PNGs
            return size
    except BadImage:
        raise
    except Image.DecompressionBombError:
        raise BadImage(f"screenshot: the image header claims more than {MAX_PIXELS} pixels (too large to be a "
                       f"phone screen)") from None
    except Exception as error:  # noqa: BLE001 - PIL raises many kinds on a broken header (and bomb errors)
        head = bytes(image[:8])
        if head.startswith((b"\x89PNG", b"\xff\xd8")):
            raise BadImage(f"screenshot: {len(image)} bytes are not a decodable PNG/JPEG image (corrupt or truncated? "
                           f"{type(error).__name__})") from None
        raise BadImage(f"screenshot: {len(image)} bytes are not an image (starting {head!r})") from None


def _as_bgr(array: np.ndarray) -> np.ndarray:
    if array.size == 0 or array.ndim not in (2, 3):
        raise BadImage(f"screenshot: array of shape {array.shape} is not an image")
    if array.dtype != np.uint8:
        raise BadImage(f"screenshot: array dtype {array.dtype} is not uint8")
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    channels = array.shape[2]
    if channels == 3:
        return np.ascontiguousarray(array)
    if channels == 4:
        return cv2.cvtColor(array, cv2.COLOR_BGRA2BGR)
    if channels == 1:
        return cv2.cvtColor(array[:, :, 0], cv2.COLOR_GRAY2BGR)
    raise BadImage(f"screenshot: array with {channels} channels is not an image")


def _small(img: np.ndarray) -> np.ndarray:
    """The image at about 270 px wide (1/4 of a 1080 screen); small screenshots are used as they are."""
    w = img.shape[1]
    scale = max(1, round(w * WORK_SCALE / REFERENCE_WIDTH))
    if scale == 1:
        return img
    # Every scale-th pixel: 10x cheaper than area averaging, and brightness statistics and card edges survive it.
    return np.ascontiguousarray(img[::scale, ::scale])


def _brightness(img: np.ndarray) -> np.ndarray:
    """max(R,G,B): a white card and a saturated button both count as bright, a grey dim layer does not."""
    if img.ndim != 3:
        return img
    blue, green, red = cv2.split(img)  # numpy's max over a length-3 last axis is ~10x slower
    return cv2.max(cv2.max(blue, green), red)


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img


def is_blank(img: np.ndarray) -> bool:
    """A black screen (FLAG_SECURE screenshot, screen off, app still starting): nearly uniform and dark."""
    level = _brightness(_small(img))
    lit = np.count_nonzero(level > 48) / level.size
    return bool(lit < 0.002 and float(level.mean()) < 24.0)


def _top_strip(level: np.ndarray) -> np.ndarray:
    # Below the status bar (a separate window the dim layer may not cover), above where dialogs sit.
    h = level.shape[0]
    return level[int(h * 0.04): max(int(h * 0.04) + 1, int(h * 0.14))]


def _looks_dimmed(pixels: np.ndarray) -> tuple[bool, float]:
    top = float(np.percentile(pixels, 99))
    # Pure black is not dim: a video letterbox or a dark page shows nothing that a dim layer could have darkened.
    return 20.0 <= top < DIM_LEVEL, top


def dimmed_overlay(img: np.ndarray) -> bool:
    """A modal dialog dims the app behind it: even the brightest pixels of the top strip are grey.

    The brightest 1% of the strip (text, icons, white background) sits below DIM_LEVEL once a 40-60% black layer
    covers it. Something in front must be brighter than the dimmed background, else this is just a dark screen.
    (Checking the side margins as well catches tall dialogs but flags dark ad photos: worse on the real screenshots.)
    """
    small = _small(img)
    level = _brightness(small)
    screen_top = float(np.percentile(level, 99.5))
    dimmed, strip_top = _looks_dimmed(_top_strip(level))
    if dimmed:
        return screen_top >= strip_top + 40
    # A tall dialog reaches into the strip: then judge everything around the card instead.
    card = _bright_card(small) or _edge_card(small)
    if card is None:
        return False
    x1, y1, x2, y2 = card
    around = level.copy()
    around[y1:y2, x1:x2] = 0
    h = level.shape[0]
    outside = np.concatenate([around[int(h * 0.04): y1].ravel(), around[y1:y2].ravel(), around[y2:].ravel()])
    outside = outside[outside > 0] if np.count_nonzero(outside) else outside
    dimmed, outside_top = _looks_dimmed(outside)
    return dimmed and screen_top >= outside_top + 40


def _rect_iou(a: Bounds, b: Bounds) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def _card_candidates(mask: np.ndarray, min_fill: float) -> list[tuple[int, Bounds]]:
    """Outer contours of a mask that look like a card: big, rectangular, not the whole screen."""
    h, w = mask.shape
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    found = []
    for contour in contours:
        x, y, cw, ch = cv2.boundingRect(contour)
        if cw < w * 0.4 or ch < h * 0.1 or cw * ch > w * h * 0.8:
            continue
        if y < h * 0.05:  # starts under the status bar: the app's own page, not a card in front of it
            continue
        if cv2.contourArea(contour) < min_fill * cw * ch:
            continue
        found.append((cw * ch, (x, y, x + cw, y + ch)))
    return sorted(found, reverse=True)


def _to_full(bounds: Bounds, img: np.ndarray, small: np.ndarray) -> Bounds:
    sy = img.shape[0] / small.shape[0]
    sx = img.shape[1] / small.shape[1]
    x1, y1, x2, y2 = bounds
    return (round(x1 * sx), round(y1 * sy),
            min(img.shape[1], round(x2 * sx)), min(img.shape[0], round(y2 * sy)))


def _bright_card(small: np.ndarray) -> Bounds | None:
    mask = (_brightness(small) >= BRIGHT_CARD_LEVEL).astype(np.uint8) * 255
    # Close gaps left by text and icons inside the card so it stays one component.
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    found = _card_candidates(mask, min_fill=0.85)
    return found[0][1] if found else None


def _edge_card(small: np.ndarray) -> Bounds | None:
    """Dark-mode fallback: a card is a rectangle whose edge against the background is sharp and whose rim is flat."""
    gray = _gray(small)
    edges = cv2.Canny(gray, 20, 60)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    h, w = gray.shape
    best: tuple[int, Bounds] | None = None
    for contour in contours:
        x, y, cw, ch = cv2.boundingRect(contour)
        if cw < w * 0.4 or ch < h * 0.1 or cw * ch > w * h * 0.8 or y < h * 0.05:
            continue
        if cv2.contourArea(contour) < 0.8 * cw * ch:
            continue
        if not _flat_rim(gray, (x, y, x + cw, y + ch)):
            continue
        if best is None or cw * ch > best[0]:
            best = (cw * ch, (x, y, x + cw, y + ch))
    return best[1] if best else None


def _flat_rim(gray: np.ndarray, bounds: Bounds) -> bool:
    """The band just inside a card's edge is one colour (its background), unlike a photo or a list row."""
    x1, y1, x2, y2 = bounds
    inset = 3
    band = max(2, min(x2 - x1, y2 - y1) // 20)
    xa, ya, xb, yb = x1 + inset, y1 + inset, x2 - inset, y2 - inset
    if xb - xa <= 2 * band or yb - ya <= 2 * band:
        return False
    rim = np.concatenate([
        gray[ya:ya + band, xa:xb].ravel(), gray[yb - band:yb, xa:xb].ravel(),
        gray[ya:yb, xa:xa + band].ravel(), gray[ya:yb, xb - band:xb].ravel(),
    ])
    return float(rim.std()) < 10.0


def _changed_region(small: np.ndarray, previous_small: np.ndarray) -> Bounds | None:
    """Ratio difference: a dim layer multiplies every background pixel by one factor; the dialog does not."""
    cur = _gray(small).astype(np.float32)
    prev = _gray(previous_small).astype(np.float32)
    lit = prev > 60
    if np.count_nonzero(lit) < prev.size * 0.05:
        factor = 1.0
    else:
        factor = float(np.median((cur[lit] + 1.0) / (prev[lit] + 1.0)))
    changed = (np.abs(cur - factor * prev) > 24).astype(np.uint8) * 255
    changed = cv2.morphologyEx(changed, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    changed = cv2.morphologyEx(changed, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    found = _card_candidates(changed, min_fill=0.6)
    return found[0][1] if found else None


def dialog_bounds(img: np.ndarray, previous: np.ndarray | None = None) -> Bounds | None:
    """Bounds (x1, y1, x2, y2) of the dialog card in full-image pixels, or None.

    With the frame before the dialog appeared, the ratio difference finds it even when the card is dark or
    patterned. Without one, the largest bright rectangle (light cards), then a rectangle with sharp edges and a flat
    rim (dark-mode cards).
    """
    small = _small(img)
    if previous is not None and previous.shape[:2] == img.shape[:2]:
        changed = _changed_region(small, _small(previous))
        if changed is not None:
            return _to_full(changed, img, small)
    for finder in (_bright_card, _edge_card):
        found = finder(small)
        if found is not None:
            return _to_full(found, img, small)
    return None


@functools.cache
def _cross_template(size: int = 24) -> np.ndarray:
    template = np.zeros((size, size), np.float32)
    cv2.line(template, (2, 2), (size - 3, size - 3), 1.0, 3)
    cv2.line(template, (size - 3, 2), (2, size - 3), 1.0, 3)
    return cv2.GaussianBlur(template, (5, 5), 0)


def _cross_score(component: np.ndarray) -> float:
    """Correlation of a stroke component with a drawn X, both blurred so stroke width matters little."""
    size = _cross_template().shape[0]
    patch = cv2.resize(component.astype(np.float32), (size - 4, size - 4), interpolation=cv2.INTER_AREA)
    patch = cv2.copyMakeBorder(patch, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=0)
    patch = cv2.GaussianBlur(patch, (5, 5), 0)
    a = patch - patch.mean()
    b = _cross_template() - _cross_template().mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom else 0.0


CROSS_MIN_SCORE = 0.68


def close_crosses(img: np.ndarray, region: Bounds | None = None) -> list[Bounds]:
    """X-shaped close buttons, drawn light-on-dark or dark-on-light, as bounds in full-image pixels.

    Stroke mask (top-hat and black-hat keep thin strokes, drop flat areas), then each connected component of
    button size must be square-ish, correlate with a drawn X and stand alone (a letter x inside a word has
    neighbours on its line).
    """
    scale = img.shape[1] / REFERENCE_WIDTH  # button sizes follow the screen width, so measure before cropping
    ox, oy = 0, 0
    if region is not None:
        x1, y1, x2, y2 = _clip(region, img)
        img, ox, oy = img[y1:y2, x1:x2], x1, y1
    if img.size == 0:
        return []
    gray = _gray(img)
    k = max(5, round(21 * scale) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    lo, hi = max(8, int(14 * scale)), max(16, int(120 * scale))
    found: list[Bounds] = []
    # Light strokes on dark (top-hat) and dark strokes on light (black-hat) separately: mixed in one mask, the gaps
    # between a light X and its ring read as dark strokes and glue everything into one blob.
    for operation in (cv2.MORPH_TOPHAT, cv2.MORPH_BLACKHAT):
        mask = (cv2.morphologyEx(gray, operation, kernel) > 50).astype(np.uint8)
        for x, y, w, h in _cross_components(mask, lo, hi):
            box = (int(x + ox), int(y + oy), int(x + w + ox), int(y + h + oy))
            if all(_rect_iou(box, other) < 0.3 for other in found):
                found.append(box)
    return sorted(found, key=lambda b: (b[1], b[0]))


def _cross_components(mask: np.ndarray, lo: int, hi: int) -> list[tuple[int, int, int, int]]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    boxes = stats[1:, :4]
    crosses = []
    for index in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[index])
        if not (lo <= w <= hi and lo <= h <= hi) or not 0.7 <= w / h <= 1.4:
            continue
        if area > 0.6 * w * h:  # a filled blob, not strokes
            continue
        if _cross_score(labels[y:y + h, x:x + w] == index) < CROSS_MIN_SCORE:
            continue
        if _has_line_neighbours((x, y, w, h), boxes, index - 1):
            continue
        crosses.append((x, y, w, h))
    return crosses


def _has_line_neighbours(box: tuple[int, int, int, int], boxes: np.ndarray, own: int) -> bool:
    """True when similar-height components sit beside this one on the same line, as letters in a word do."""
    x, y, w, h = box
    gap = 1.2 * w
    bx, by, bw, bh = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    # Letters of one word have about the same height (0.6-1.7x covers lower case next to capitals).
    same_line = (np.abs((by + bh / 2) - (y + h / 2)) < h * 0.5) & (bh > h * 0.6) & (bh < h * 1.7)
    near = (bx < x + w + gap) & (bx + bw > x - gap)
    # A ring or button outline around the X is its frame, not a neighbouring letter: it encloses the X, or (an arc
    # of a ring broken by JPEG noise) overlaps it by more than a third of its width. Letters stand side by side.
    encloses = (bx <= x) & (by <= y) & (bx + bw >= x + w) & (by + bh >= y + h)
    overlap = np.minimum(bx + bw, x + w) - np.maximum(bx, x)
    frames = encloses | (overlap > np.minimum(bw, w) / 3)
    hits = np.flatnonzero(same_line & near & ~frames)
    return bool(np.any(hits != own))


def _clip(bounds: Bounds, img: np.ndarray) -> Bounds:
    h, w = img.shape[:2]
    x1, y1, x2, y2 = bounds
    return max(0, x1), max(0, y1), min(w, x2), min(h, y2)


def dhash(img: np.ndarray, size: int = 8) -> int:
    """Difference hash: size*size bits, one per horizontal neighbour pair of a (size+1) x size thumbnail."""
    thumb = cv2.resize(_gray(img), (size + 1, size), interpolation=cv2.INTER_AREA)
    bits = (thumb[:, 1:] > thumb[:, :-1]).ravel()
    return int.from_bytes(np.packbits(bits).tobytes(), "big") >> ((8 - bits.size % 8) % 8)


def dhash_region(img: np.ndarray, bounds: Bounds, size: int = 32) -> int:
    """dHash of a crop (a dialog): the full-screen hash cannot tell two dialogs apart that differ only in text."""
    x1, y1, x2, y2 = _clip(bounds, img)
    if x2 <= x1 or y2 <= y1:
        raise BadImage(f"region {bounds} is outside the {img.shape[1]}x{img.shape[0]} image")
    return dhash(img[y1:y2, x1:x2], size)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
