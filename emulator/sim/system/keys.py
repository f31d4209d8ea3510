"""Key names and codes (KEYCODE_BACK, 4, 'back') -> one keycode."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml


@lru_cache(maxsize=1)
def _table() -> dict:
    return yaml.safe_load(resources.files(__package__).joinpath("keycodes.yaml").read_text("utf-8"))


def keycode(key: str | int) -> int | None:
    """The Android keycode for a u2 name, a KEYCODE_ name, a bare name or a number; None if unknown."""
    if isinstance(key, int):
        return key
    text = str(key).strip()
    if text.isdigit():
        return int(text)
    table = _table()
    name = table["u2_names"].get(text.lower(), text.upper().removeprefix("KEYCODE_"))
    return table["codes"].get(name)
