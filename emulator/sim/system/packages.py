"""The package manager: installed apps (zoo AppPackages) and the ROM's system packages."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import yaml

from emulator.sim.app_api import AppManifest, AppPackage
from emulator.sim.system.permissions import PackagePermissions

FIRST_APP_UID = 10100


class PackageError(ValueError):
    """A pm command named a package that is not installed, or a bad argument."""


@dataclass
class InstalledPackage:
    manifest: AppManifest
    uid: int
    system: bool
    app: AppPackage | None = None  # None for system packages (their UI is drawn by the system itself)
    permissions: PackagePermissions = field(default_factory=PackagePermissions)
    prefs: dict = field(default_factory=dict)
    install_time: float = 0.0
    code_tag: str = ""  # the random-looking part of /data/app/~~<tag>==/<pkg>-<tag>==, deterministic

    @property
    def package(self) -> str:
        return self.manifest.package

    @property
    def launcher_activity(self) -> str:
        return absolute_activity(self.package, self.manifest.launcher_activity)

    def apk_path(self) -> str:
        if self.system:
            name = self.package.rsplit(".", 1)[-1]
            return f"/system/priv-app/{name}/{name}.apk"
        return f"/data/app/~~{self.code_tag}==/{self.package}-{self.code_tag[::-1]}==/base.apk"


def absolute_activity(package: str, activity: str) -> str:
    if activity.startswith("."):
        return package + activity
    if "." not in activity and activity:
        return f"{package}.{activity}"
    return activity


def short_component(package: str, activity: str) -> str:
    """pkg/.Act when the class lives in the package, as Android prints ComponentName.flattenToShortString()."""
    if activity.startswith(package + "."):
        return f"{package}/{activity[len(package):]}"
    return f"{package}/{activity}"


def _code_tag(package: str, uid: int) -> str:
    import base64
    import hashlib

    digest = hashlib.sha1(f"{package}:{uid}".encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


class PackageManager:
    def __init__(self, permission_controller: str, locale: str) -> None:
        self._packages: dict[str, InstalledPackage] = {}
        self._next_uid = FIRST_APP_UID
        table = yaml.safe_load(resources.files(__package__).joinpath("system_packages.yaml").read_text("utf-8"))
        for row in table:
            name = row["package"].replace("{permission_controller}", permission_controller)
            label = row["label"].get(locale) or row["label"]["en-US"]
            manifest = AppManifest(
                package=name,
                label=label,
                version_name=str(row["version_name"]),
                version_code=int(row["version_code"]),
                launcher_activity=row["activity"],
            )
            self._packages[name] = InstalledPackage(manifest, int(row["uid"]), system=True, code_tag="")

    def install(self, app: AppPackage, now: float) -> InstalledPackage:
        """Install or update (same uid and permission state on update, like `pm install -r`)."""
        manifest = app.manifest
        old = self._packages.get(manifest.package)
        if old is not None and old.system:
            raise PackageError(f"{manifest.package}: cannot replace a system package")
        if old is not None:
            old.manifest, old.app = manifest, app
            for perm in manifest.permissions:
                if perm not in old.permissions.states:
                    try:
                        old.permissions.state(perm)
                    except ValueError:
                        pass
            return old
        uid = self._next_uid
        self._next_uid += 1
        pkg = InstalledPackage(
            manifest=manifest,
            uid=uid,
            system=False,
            app=app,
            permissions=PackagePermissions.for_manifest(manifest.permissions),
            install_time=now,
            code_tag=_code_tag(manifest.package, uid),
        )
        self._packages[manifest.package] = pkg
        return pkg

    def uninstall(self, package: str) -> InstalledPackage:
        pkg = self.get(package)
        if pkg.system:
            raise PackageError(f"{package}: cannot uninstall a system package")
        return self._packages.pop(package)

    def get(self, package: str) -> InstalledPackage:
        pkg = self._packages.get(package)
        if pkg is None:
            raise PackageError(f"Unknown package: {package}")
        return pkg

    def find(self, package: str) -> InstalledPackage | None:
        return self._packages.get(package)

    def by_uid(self, uid: int) -> InstalledPackage | None:
        return next((p for p in self._packages.values() if p.uid == uid), None)

    def all(self, third_party_only: bool = False, system_only: bool = False) -> list[InstalledPackage]:
        pkgs = [p for p in self._packages.values() if not (third_party_only and p.system)]
        return [p for p in pkgs if not (system_only and not p.system)]

    def apps(self) -> list[InstalledPackage]:
        """Third-party apps in install order (the launcher's grid)."""
        return [p for p in self._packages.values() if not p.system]
