"""Screenshots as small data: URIs, so a report is one file that works offline and stays small.

Screenshots come from the device (hostile bytes): a file that is not an image, or an absurdly large one, becomes
"unreadable" instead of an error or a memory blow-up.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field

from PIL import Image, UnidentifiedImageError

from reports.html.view import Shot

SHOT_WIDTH = 360  # px of a timeline screenshot on the page
THUMB_WIDTH = 72  # px of a state thumbnail in the graph
JPEG_QUALITY = 70
MAX_PIXELS = 40_000_000  # a 720x1600 screen is 1.2 M; anything this large is not a phone screenshot


@dataclass
class ImageCache:
    """Encodes each blob once per width. `read(sha)` gives the blob's bytes or raises (MissingBlob, BadBlob...)."""

    read: object  # Callable[[str], bytes]
    _done: dict[tuple[str, int], Shot] = field(default_factory=dict)

    def shot(self, sha: str, width: int = SHOT_WIDTH) -> Shot:
        if not sha:
            return Shot(missing="missing")
        key = (sha, width)
        if key not in self._done:
            self._done[key] = self._encode(sha, width)
        return self._done[key]

    def _encode(self, sha: str, width: int) -> Shot:
        try:
            data = self.read(sha)  # type: ignore[operator]
        except (FileNotFoundError, ValueError):  # MissingBlob, BadBlob, not a sha256
            return Shot(missing="missing")
        return encode_image(data, width)


def encode_image(data: bytes, width: int) -> Shot:
    """A downscaled JPEG data: URI of an image, keeping its original size for overlay coordinates."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            original = image.size
            if original[0] <= 0 or original[1] <= 0 or original[0] * original[1] > MAX_PIXELS:
                return Shot(missing="unreadable")
            image.draft("RGB", (width, width * 4))  # cheap JPEG pre-scaling; a no-op for PNG
            rgb = image.convert("RGB")
            height = max(1, round(original[1] * width / original[0]))
            small = rgb.resize((width, height), Image.Resampling.LANCZOS) if original[0] > width else rgb
            buffer = io.BytesIO()
            small.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return Shot(missing="unreadable")
    uri = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return Shot(uri=uri, width=original[0], height=original[1])
