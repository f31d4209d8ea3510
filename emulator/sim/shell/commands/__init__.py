"""The shell's command table: each module exports COMMANDS = {name: CommandSpec}."""

from __future__ import annotations

from functools import lru_cache

from emulator.sim.shell.interpreter import CommandSpec


@lru_cache(maxsize=1)
def registry() -> dict[str, CommandSpec]:
    from emulator.sim.shell.commands import am, device_info, dumpsys, files, input, logcat, pm, ps, screen, text

    table: dict[str, CommandSpec] = {}
    for module in (text, files, device_info, am, pm, dumpsys, ps, input, logcat, screen):
        table.update(module.COMMANDS)
    table["app_process64"] = table["app_process"]
    return table
