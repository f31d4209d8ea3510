"""The user-error root: every error meant for the user derives from UserError, and crawler/errors.py draws them all."""

from __future__ import annotations

import importlib
import pkgutil
import re

import crawler.errors
from crawler.errors import UserError

PACKAGES = ("crawler", "strategies", "reports", "emulator")


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _all_subclasses(sub)
    return found


def test_the_drawn_hierarchy_names_every_user_error_and_only_those():
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    defined = {cls.__name__ for cls in _all_subclasses(UserError) if not cls.__module__.startswith("tests")}
    drawn = set(re.findall(r"[├└]── (\w+)", crawler.errors.__doc__))
    assert drawn == defined


def test_user_errors_keep_their_builtin_bases():
    from crawler.store import MissingBlob, RunExists
    from emulator.zoo.model import ZooError

    assert issubclass(RunExists, FileExistsError) and issubclass(MissingBlob, FileNotFoundError)
    assert issubclass(ZooError, ValueError) and issubclass(ZooError, UserError)
