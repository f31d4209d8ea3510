"""Runtime permission state with Android 11+ semantics: granted + flags per package per permission.

USER_SET = the user denied once (shouldShowRequestPermissionRationale is true); USER_FIXED = denied twice, or
"don't ask again": requests for the group are denied silently with no dialog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml

# PackageManager.FLAG_PERMISSION_* bits, in the order `dumpsys package` prints them (lowest bit first).
FLAG_BITS: dict[str, int] = {
    "USER_SET": 1 << 0,
    "USER_FIXED": 1 << 1,
    "POLICY_FIXED": 1 << 2,
    "REVOKED_COMPAT": 1 << 3,
    "SYSTEM_FIXED": 1 << 4,
    "GRANTED_BY_DEFAULT": 1 << 5,
    "REVIEW_REQUIRED": 1 << 6,
    "REVOKE_WHEN_REQUESTED": 1 << 7,
    "USER_SENSITIVE_WHEN_GRANTED": 1 << 8,
    "USER_SENSITIVE_WHEN_DENIED": 1 << 9,
    "RESTRICTION_INSTALLER_EXEMPT": 1 << 11,
    "RESTRICTION_SYSTEM_EXEMPT": 1 << 12,
    "RESTRICTION_UPGRADE_EXEMPT": 1 << 13,
    "APPLY_RESTRICTION": 1 << 14,
    "GRANTED_BY_ROLE": 1 << 15,
    "ONE_TIME": 1 << 16,
    "AUTO_REVOKED": 1 << 17,
}
USER_SET = FLAG_BITS["USER_SET"]
USER_FIXED = FLAG_BITS["USER_FIXED"]
# Flags a freshly installed third-party app carries on a real Android 11+ device.
DEFAULT_FLAGS = FLAG_BITS["USER_SENSITIVE_WHEN_GRANTED"] | FLAG_BITS["USER_SENSITIVE_WHEN_DENIED"]
# Names accepted by `pm set/clear-permission-flags` (lower-case dashed on the command line).
CLI_FLAG_NAMES = {name.lower().replace("_", "-"): bit for name, bit in FLAG_BITS.items()}
_BIT_NAMES = {}
for _name, _bit in FLAG_BITS.items():
    _BIT_NAMES.setdefault(_bit, _name)


class UnknownPermission(ValueError):
    """Not a runtime permission this system knows."""


@lru_cache(maxsize=1)
def permission_groups() -> dict[str, str]:
    """permission -> group, from permissions.yaml."""
    text = resources.files(__package__).joinpath("permissions.yaml").read_text(encoding="utf-8")
    table = yaml.safe_load(text)
    return {perm: group for group, perms in table.items() for perm in perms}


def group_of(permission: str) -> str | None:
    return permission_groups().get(permission)


def flags_to_string(flags: int) -> str:
    """As Android's permissionFlagsToString(", flags=", flags): '' when no flag is set."""
    names = []
    bit = 1
    while flags and bit <= flags:
        if flags & bit:
            names.append(_BIT_NAMES.get(bit, hex(bit)))
        bit <<= 1
    return ", flags=[ " + "|".join(names) + "]" if names else ""


@dataclass
class PermissionState:
    granted: bool = False
    flags: int = DEFAULT_FLAGS


@dataclass
class PackagePermissions:
    """The runtime permissions one package requested, and how often each group's dialog was shown."""

    states: dict[str, PermissionState] = field(default_factory=dict)
    dialogs_shown: dict[str, int] = field(default_factory=dict)  # group -> number of dialogs shown

    @classmethod
    def for_manifest(cls, permissions: tuple[str, ...]) -> PackagePermissions:
        return cls({p: PermissionState() for p in permissions if group_of(p)})

    def reset(self) -> None:
        """pm clear: every runtime permission back to its install-time state."""
        for name in self.states:
            self.states[name] = PermissionState()
        self.dialogs_shown.clear()

    def state(self, permission: str) -> PermissionState:
        if permission not in self.states:
            if not group_of(permission):
                raise UnknownPermission(permission)
            self.states[permission] = PermissionState()
        return self.states[permission]

    def granted(self, permission: str) -> bool:
        st = self.states.get(permission)
        return bool(st and st.granted)

    def group_fixed(self, group: str) -> bool:
        return any(st.flags & USER_FIXED and not st.granted for p, st in self.states.items() if group_of(p) == group)

    def group_user_set(self, group: str) -> bool:
        return any(st.flags & USER_SET and not st.granted for p, st in self.states.items() if group_of(p) == group)

    def should_show_rationale(self, permission: str) -> bool:
        st = self.states.get(permission)
        return bool(st and not st.granted and st.flags & USER_SET and not st.flags & USER_FIXED)

    def grant(self, permission: str) -> None:
        st = self.state(permission)
        st.granted = True
        st.flags &= ~(USER_SET | USER_FIXED)

    def deny(self, permission: str, fixed: bool) -> None:
        st = self.state(permission)
        st.granted = False
        st.flags |= USER_SET | (USER_FIXED if fixed else 0)

    def revoke(self, permission: str) -> None:
        self.state(permission).granted = False
