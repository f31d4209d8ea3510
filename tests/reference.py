"""Where the shared reference lives (beside the repository: ../shared/reference) and how a test that needs it skips.

One place, one skip message, for tests (through tests/conftest.py's `shared_reference` fixture or `needs_reference`)
and for bench/ (which must not import conftest: it points adb at a private server when imported).
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = REPO.parent / "shared" / "reference"
REAL = SHARED_REFERENCE / "real"  # real screens from public repositories: real/xml, real/img (each with sources.tsv)


def reference_path(relative: str = "") -> Path:
    """`shared/reference/<relative>` (it may be absent)."""
    return SHARED_REFERENCE / relative if relative else SHARED_REFERENCE


def missing_reference(relative: str = "") -> str:
    """The one skip message for a test whose reference file is absent."""
    return f"shared reference {reference_path(relative)} is not beside the repository"


def needs_reference(relative: str = "") -> pytest.MarkDecorator:
    """Mark a test (or a module, as `pytestmark`) to skip unless `shared/reference/<relative>` exists."""
    return pytest.mark.skipif(not reference_path(relative).exists(), reason=missing_reference(relative))


def require_reference(relative: str = "") -> Path:
    """`shared/reference/<relative>`, or skip the running test (for fixtures and test bodies)."""
    path = reference_path(relative)
    if not path.exists():
        pytest.skip(missing_reference(relative))
    return path


def real_images(label: str | None = None) -> list[tuple[str, str, Path]]:
    """(file, label, path) of the real reference screenshots (real/img/sources.tsv), read in place."""
    sources = REAL / "img" / "sources.tsv"
    if not sources.is_file():
        return []
    rows = []
    for line in sources.read_text(encoding="utf-8").splitlines()[1:]:
        cells = line.split("\t")
        if len(cells) > 4 and (label is None or cells[4] == label) and (REAL / "img" / cells[0]).is_file():
            rows.append((cells[0], cells[4], REAL / "img" / cells[0]))
    return rows
