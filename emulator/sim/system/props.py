"""System properties (`getprop`): the build and product identity of the simulated phone, per ROM family."""

from __future__ import annotations

from importlib import resources

import yaml


def build_properties(rom: str, sdk: int, release: str, locale: str, serial: str, density: int,
                     overrides: dict[str, str] | None = None) -> dict[str, str]:
    """common + the ROM family's identity + the skin's own props (the skin wins)."""
    table = yaml.safe_load(resources.files(__package__).joinpath("props.yaml").read_text("utf-8"))
    family = {"oneui": "samsung"}.get(rom.lower(), rom.lower()) if rom else "aosp"
    family = family if family in table else "aosp"
    values = {"sdk": str(sdk), "release": release, "locale": locale, "serial": serial, "density": str(density)}
    props = {k: str(v).format(**values) for k, v in table["common"].items()}
    props.update({k: str(v) for k, v in table[family].items()})
    props.update({k: str(v) for k, v in (overrides or {}).items()})
    props.setdefault("ro.build.fingerprint", fingerprint(props))
    return dict(sorted(props.items()))


def fingerprint(props: dict[str, str]) -> str:
    """The build fingerprint as Android composes it: brand/name/device:release/id/incremental:type/tags."""
    p = props.get
    return (f"{p('ro.product.brand', '')}/{p('ro.product.name', '')}/{p('ro.product.device', '')}:"
            f"{p('ro.build.version.release', '')}/{p('ro.build.id', '')}/{p('ro.build.version.incremental', '')}:"
            f"{p('ro.build.type', '')}/{p('ro.build.tags', '')}")
