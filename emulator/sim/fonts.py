"""The CJK fonts the simulated screens are drawn with, so that OCR reads real glyphs.

`python -m emulator.sim.fonts --ensure` installs Debian's fonts-noto-cjk when run as root and no CJK font is
present; otherwise it prints one line saying what to install and exits 1.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from crawler.errors import UserError

# Regular and bold sans faces, best first. Noto Sans CJK is what most Android ROMs in China ship (as Source Han Sans).
REGULAR = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
BOLD = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Medium.ttc",
)
DEBIAN_PACKAGE = "fonts-noto-cjk"


class FontsMissing(UserError, RuntimeError):
    pass


@functools.cache
def cjk_font(bold: bool = False) -> Path:
    for candidate in (BOLD + REGULAR) if bold else REGULAR:
        if Path(candidate).is_file():
            return Path(candidate)
    raise FontsMissing(f"no CJK font found: install the Debian package {DEBIAN_PACKAGE} (apt-get install {DEBIAN_PACKAGE})")


def ensure() -> int:
    try:
        cjk_font()
        return 0
    except FontsMissing:
        pass
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing {DEBIAN_PACKAGE} with apt-get (screens are drawn with real CJK fonts)", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", DEBIAN_PACKAGE], check=False, env=env)
        cjk_font.cache_clear()
        try:
            cjk_font()
            return 0
        except FontsMissing:
            pass
    print(f"naysayer: no CJK font found; install the Debian package {DEBIAN_PACKAGE} as root "
          f"(apt-get install {DEBIAN_PACKAGE}) and run again", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(ensure() if "--ensure" in sys.argv else 0)
