"""Hostile screenshots: damaged PNG chunks and JPEG segments, truncation, bit flips, decompression bombs, header
lies, every PNG mode, tiny and 1xN images, things that are no image at all.

    cases(full=False) -> fuzz cases (tests/fuzz/harness.py)

A screenshot either decodes (and the pixel checks run on it) or is one clean BadImage / `naysayer: ...` line; never a
traceback, a hang, memory without bound, or a libpng/libjpeg warning on stderr.
"""

from __future__ import annotations

import io
import random
import struct
import zlib

import numpy as np
from PIL import Image

from tests.fuzz.harness import Case

LOOK = "tests.fuzz.images:look"


def look(data: bytes) -> None:
    """What the crawl does with a screenshot when OCR is off: decode, blank check, the pixel checks, hashes."""
    from crawler.perceive import vision

    img = vision.decode(data)
    vision.is_blank(img)
    vision.dimmed_overlay(img)
    card = vision.dialog_bounds(img)
    vision.close_crosses(img, card)
    vision.dhash(img)
    h, w = img.shape[:2]
    vision.dhash_region(img, (0, 0, max(1, w // 2), max(1, h // 2)))


def chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    value = zlib.crc32(kind + data) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", value)


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, at = [], 8
    while at + 8 <= len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        out.append((data[at + 4:at + 8], data[at + 8:at + 8 + length]))
        at += 12 + length
    return out


def build_png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunk(k, d) for k, d in chunks)


def _screen(w: int, h: int, seed: int = 0) -> np.ndarray:
    """A plausible screen: light page, a dim layer, a white card with a dark button and a cross."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 245, np.uint8)
    img[: max(1, h // 20)] = (30, 30, 30)
    img[h // 4: 3 * h // 4] = (img[h // 4: 3 * h // 4] * 0.4).astype(np.uint8)
    img[h // 3: 2 * h // 3, w // 8: 7 * w // 8] = 255
    img[h // 2: h // 2 + max(1, h // 30), w // 4: 3 * w // 4] = (200, 80, 20)
    noise = rng.integers(0, 8, (h, w, 3), dtype=np.uint8)
    return img - np.minimum(img, noise)


def encode(img: np.ndarray | Image.Image, fmt: str = "PNG", **options) -> bytes:
    pil = img if isinstance(img, Image.Image) else Image.fromarray(img)
    out = io.BytesIO()
    pil.save(out, fmt, **options)
    return out.getvalue()


def _bases() -> list[tuple[str, bytes]]:
    screen = _screen(180, 400)
    rgb = Image.fromarray(screen)
    grey16 = Image.fromarray((np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16))
    pal = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal_t = pal.copy()
    pal_t.info["transparency"] = 0
    cmyk = rgb.convert("CMYK")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotated
    return [
        ("png-rgb", encode(rgb)), ("png-rgba", encode(rgb.convert("RGBA"))), ("png-l", encode(rgb.convert("L"))),
        ("png-la", encode(rgb.convert("LA"))), ("png-p", encode(pal)), ("png-p-transparent", encode(pal_t)),
        ("png-1bit", encode(rgb.convert("1"))), ("png-16bit-grey", encode(grey16)),
        ("png-interlaced", _interlaced(screen)),
        ("jpeg", encode(rgb, "JPEG", quality=80)), ("jpeg-progressive", encode(rgb, "JPEG", progressive=True)),
        ("jpeg-grey", encode(rgb.convert("L"), "JPEG")), ("jpeg-cmyk", encode(cmyk, "JPEG")),
        ("jpeg-exif-rotated", encode(rgb, "JPEG", exif=exif.tobytes())),
    ]


def _interlaced(img: np.ndarray) -> bytes:
    """An Adam7-interlaced RGB PNG (Pillow does not write one)."""
    height, width = img.shape[:2]
    passes = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
    out = bytearray()
    for x0, y0, dx, dy in passes:
        if x0 >= width or y0 >= height:
            continue
        for y in range(y0, height, dy):
            out += b"\x00" + img[y, x0::dx].tobytes()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return build_png([(b"IHDR", ihdr), (b"IDAT", zlib.compress(bytes(out))), (b"IEND", b"")])


def _bomb_png(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    """A PNG whose tiny IDAT inflates to width x height pixels of zeros."""
    channels = {0: 1, 2: 3, 6: 4}[colour]
    stride = width * channels * depth // 8 + 1
    comp = zlib.compressobj(9)
    row = b"\x00" * stride
    body = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return build_png([(b"IHDR", ihdr), (b"IDAT", body), (b"IEND", b"")])


def _header_lie(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return build_png([(b"IHDR", ihdr), (b"IDAT", zlib.compress(b"\x00" * 100)), (b"IEND", b"")])


def _jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, whole segment bytes) up to SOS; then the rest as one piece (marker 0)."""
    out, at = [], 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        (length,) = struct.unpack(">H", data[at + 2:at + 4])
        if marker == 0xDA:
            out.append((0, data[at:]))
            break
        out.append((marker, data[at:at + 2 + length]))
        at += 2 + length
    return out


def structural_cases(bases: list[tuple[str, bytes]]) -> list[tuple[str, bytes, set | None]]:
    """Named damage, each at a place a real decoder trips on."""
    png = dict(bases)["png-rgb"]
    jpeg = dict(bases)["jpeg"]
    chunks = png_chunks(png)
    ihdr = next(d for k, d in chunks if k == b"IHDR")
    idat = b"".join(d for k, d in chunks if k == b"IDAT")
    fine, refused = {"accepted"}, {"clean_error"}

    def with_chunk(before: bytes, extra: tuple[bytes, bytes], crc: int | None = None) -> bytes:
        out, placed = b"\x89PNG\r\n\x1a\n", False
        for k, d in chunks:
            if k == before and not placed:  # once: IDAT chunks must follow each other
                out += chunk(*extra, crc=crc)
                placed = True
            out += chunk(k, d)
        return out

    small = png_chunks(encode(_screen(40, 60)))
    small_idat = b"".join(d for k, d in small if k == b"IDAT")
    idat_split = [small[0]] + [(b"IDAT", small_idat[i:i + 1]) for i in range(len(small_idat))] + [(b"IEND", b"")]
    segments = _jpeg_segments(jpeg)
    jpeg_body = jpeg[2:]
    sof = next(s for m, s in segments if m in (0xC0, 0xC2))
    huge_sof = sof[:5] + struct.pack(">HH", 65500, 65500) + sof[9:]
    out = [
        ("empty", b"", refused), ("one-byte", b"\x89", refused), ("png-signature-only", png[:8], refused),
        ("png-no-iend", png[:-12], None), ("png-ihdr-only", png[:33], refused),
        ("png-bad-iccp", with_chunk(b"IDAT", (b"iCCP", b"x\x00\x00" + zlib.compress(b"junk" * 10))), fine),
        ("png-short-iccp", with_chunk(b"IDAT", (b"iCCP", b"x\x00\x00")), fine),
        ("png-bad-srgb", with_chunk(b"IDAT", (b"sRGB", b"\x09\x09")), fine),
        ("png-bad-gama", with_chunk(b"IDAT", (b"gAMA", b"\x00\x00\x00\x00")), fine),
        ("png-bad-text", with_chunk(b"IDAT", (b"tEXt", b"\x00" * 100)), None),
        ("png-ztxt-bomb", with_chunk(b"IDAT", (b"zTXt", b"k\x00\x00" + zlib.compress(b"A" * 20_000_000))), None),
        ("png-itxt-bomb", with_chunk(b"IDAT", (b"iTXt", b"k\x00\x01\x00\x00\x00" + zlib.compress(b"A" * 20_000_000))),
         None),
        ("png-iccp-bomb", with_chunk(b"IDAT", (b"iCCP", b"x\x00\x00" + zlib.compress(b"\x00" * 20_000_000))), None),
        ("png-huge-text", with_chunk(b"IDAT", (b"tEXt", b"k\x00" + b"x" * 5_000_000)), None),
        ("png-unknown-critical", with_chunk(b"IDAT", (b"ABCD", b"xx")), None),
        ("png-unknown-ancillary", with_chunk(b"IDAT", (b"abCD", b"xx")), fine),
        ("png-bad-crc-ihdr", png[:29] + bytes([png[29] ^ 1]) + png[30:], refused),
        ("png-bad-crc-ancillary", with_chunk(b"IDAT", (b"tEXt", b"k\x00v"), crc=1), None),
        ("png-two-ihdr", with_chunk(b"IDAT", (b"IHDR", ihdr)), None),
        ("png-length-max", png[:33] + struct.pack(">I", 0xFFFFFFFF) + b"IDAT" + idat[:100], refused),
        ("png-idat-1-byte-chunks", build_png(idat_split), fine),
        ("png-extra-idat-data", build_png([(b"IHDR", ihdr), (b"IDAT", idat + zlib.compress(b"\x00" * 100_000)),
                                            (b"IEND", b"")]), None),
        ("png-idat-garbage", build_png([(b"IHDR", ihdr), (b"IDAT", b"\x78\x9c" + bytes(range(256)) * 10),
                                         (b"IEND", b"")]), refused),
        ("png-idat-short", build_png([(b"IHDR", ihdr), (b"IDAT", zlib.compress(b"\x00" * 100)), (b"IEND", b"")]),
         refused),
        ("png-bad-depth", build_png([(b"IHDR", ihdr[:8] + b"\x07" + ihdr[9:]), (b"IDAT", idat), (b"IEND", b"")]),
         refused),
        ("png-bad-colour", build_png([(b"IHDR", ihdr[:9] + b"\x05" + ihdr[10:]), (b"IDAT", idat), (b"IEND", b"")]),
         refused),
        ("png-bad-filter", build_png([(b"IHDR", ihdr), (b"IDAT", zlib.compress(b"\x09" * 2_000_000)),
                                       (b"IEND", b"")]), None),
        ("png-zero-size", _header_lie(0, 0), refused), ("png-1x1", encode(_screen(1, 1)), refused),
        ("png-1x2000", encode(_screen(1, 2000)), refused), ("png-2000x1", encode(_screen(2000, 1)), refused),
        ("png-15x15", encode(_screen(15, 15)), refused), ("png-16x16", encode(_screen(16, 16)), fine),
        ("png-17x17", encode(_screen(17, 17)), fine), ("png-16x16000", _bomb_png(16, 16000), fine),
        ("png-16384x16", _bomb_png(16384, 16), fine), ("png-16385x16", _header_lie(16385, 16), refused),
        ("png-claims-1e5-square", _header_lie(100_000, 100_000), refused),
        ("png-claims-2^31", _header_lie(2**31 - 1, 2**31 - 1), refused),
        ("png-bomb-1440x3200", _bomb_png(1440, 3200), fine),
        ("png-bomb-16bit-rgba", _bomb_png(1440, 3200, 16, 6), fine),
        ("png-lie-small-data", _header_lie(1080, 2400), refused),
        ("jpeg-soi-only", b"\xff\xd8", refused), ("jpeg-no-eoi", jpeg[:-2], None),
        ("jpeg-half", jpeg[: len(jpeg) // 2], None),
        ("jpeg-extraneous-bytes", jpeg[:2] + segments[0][1] + b"\x00\x00\x00" + jpeg[2 + len(segments[0][1]):], None),
        ("jpeg-huge-sof", jpeg.replace(sof, huge_sof, 1), refused),
        ("jpeg-zero-sof", jpeg.replace(sof, sof[:5] + struct.pack(">HH", 0, 0) + sof[9:], 1), refused),
        ("jpeg-huge-comment", b"\xff\xd8" + (b"\xff\xfe\xff\xff" + b"c" * 65533) * 100 + jpeg_body, None),
        ("jpeg-many-app", b"\xff\xd8" + b"\xff\xe1\x00\x10" + b"E" * 14 + b"\xff\xe2\x00\x04xx" * 10000 + jpeg_body,
         None),
        ("jpeg-bad-huffman", jpeg.replace(b"\xff\xc4", b"\xff\xc4\x00\x03\x00", 1), None),
        ("jpeg-repeated-scans", jpeg[:-2] + (segments[-1][1][:-2] * 30) + b"\xff\xd9", None),
        ("gif", encode(_screen(64, 64), "GIF"), refused), ("bmp", encode(_screen(64, 64), "BMP"), refused),
        ("webp", encode(_screen(64, 64), "WEBP"), refused), ("tiff", encode(_screen(64, 64), "TIFF"), refused),
        ("ico", encode(_screen(64, 64), "ICO"), refused), ("svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                                                          refused),
        ("text", b"hello", refused), ("zeros", b"\x00" * 4096, refused),
        ("png-then-zip", png + b"PK\x03\x04" + b"\x00" * 100, None),
    ]
    return out


def mangled(bases: list[tuple[str, bytes]], seed: int, scale: int) -> list[tuple[str, bytes, set | None]]:
    rng = random.Random(seed)
    out = []
    for n in range(30 * scale):
        name, data = bases[n % len(bases)]
        cut = rng.randrange(1, len(data))
        out.append((f"truncated/{name}@{cut}", data[:cut], None))
    for n in range(60 * scale):
        name, data = bases[n % len(bases)]
        flipped = bytearray(data)
        for _ in range(1 + n % 6):
            at = rng.randrange(8 if name.startswith("png") else 2, len(flipped))
            flipped[at] ^= 1 << rng.randrange(8)
        out.append((f"bitflip/{name}/{n}", bytes(flipped), None))
    for n in range(20 * scale):  # damage inside the pixel stream with the chunk CRCs made right again: only the
        name, data = bases[n % len(bases)]  # decoder itself can notice (libpng printed "IDAT: ..." here)
        if not name.startswith("png"):
            continue
        chunks = png_chunks(data)
        idat = bytearray(b"".join(d for k, d in chunks if k == b"IDAT"))
        idat[rng.randrange(2, len(idat))] ^= 1 << rng.randrange(8)
        rest = [(k, d) for k, d in chunks if k not in (b"IDAT", b"IEND")]
        out.append((f"idat-flip/{name}/{n}", build_png(rest + [(b"IDAT", bytes(idat)), (b"IEND", b"")]), None))
    return out


def ocr_cases() -> list[Case]:
    """Small and lopsided screenshots read with OCR on (the region arithmetic of pixels.py on tiny screens)."""
    sizes = [(16, 16), (17, 17), (18, 30), (20, 20), (31, 33), (33, 31), (64, 16), (16, 64), (16, 3000), (3000, 16),
             (100, 40), (40, 100)]
    # 16x3000 and 3000x16: rapidocr refuses to resize them (one clean line: "OCR failed ... ResizeImgError")
    return [Case(f"image-ocr/{w}x{h}", argv=["inspect", "--png", "s.png"], files={"s.png": encode(_screen(w, h, w))},
                 expect={"accepted"} if max(w, h) < 20 * min(w, h) else {"accepted", "clean_error"}, timeout=180,
                 quiet=True) for w, h in sizes]


def cases(full: bool = False) -> list[Case]:
    bases = _bases()
    docs = [(f"base/{n}", d, {"accepted"}) for n, d in bases] + structural_cases(bases)
    docs += mangled(bases, seed=5, scale=4 if full else 1)
    out = [Case(f"image/{name}", call=LOOK, args=(data,), expect=expect, timeout=30) for name, data, expect in docs]
    # through the command line too: stdout/stderr as a user sees them (libpng/libjpeg wrote here before)
    cli = docs if full else [d for d in docs if d[0].startswith(("base/", "png-", "jpeg-", "gif", "empty"))]
    for name, data, expect in cli:
        if len(data) > 8_000_000:
            continue
        out.append(Case(f"image-cli/{name}", argv=["inspect", "--png", "s.png", "--no-ocr"], files={"s.png": data},
                        expect=expect, timeout=30, quiet=True))
    return out + (ocr_cases() if full else [])
