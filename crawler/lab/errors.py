"""The lab's user errors: each prints as one line naming the input and what is wrong."""

from __future__ import annotations

from crawler.errors import UserError


class LabError(UserError, RuntimeError):
    """The lab cannot start or continue: no devices, no apps, a lab folder that is missing or already used."""


class NotALab(LabError):
    """A folder given to `lab status` or `--resume` holds no lab.sqlite (or an unreadable one)."""
