"""Loading zoo apps: YAML files, directories of them, and "sim APKs" (a zip holding naysayer-app.yaml).

Every problem becomes one `ZooError` line `<file>: <place>: <what is wrong>`; nothing here prints a traceback.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from emulator.sim.app_api import AppHost, AppManifest, AppRuntime, SelfStart
from emulator.zoo.model import ACTION_TYPES, WIDGET_TYPES, AppModel, Expectation, ZooError, check_references

APK_ENTRY = "naysayer-app.yaml"
MAX_FILE = 1 << 20  # a zoo file is hand-written YAML: anything larger is not one
APPS_DIR = Path(__file__).resolve().parent / "apps"


@dataclass
class ZooApp:
    """An installable zoo app: implements `emulator.sim.app_api.AppPackage`."""

    model: AppModel
    path: Path | None = None  # where it was loaded from (None for bytes)
    manifest: AppManifest = field(init=False)

    def __post_init__(self) -> None:
        info = self.model.app
        self.manifest = AppManifest(
            package=info.package,
            label=info.label,
            version_name=info.version_name,
            version_code=info.version_code,
            permissions=tuple(info.permissions),
            launcher_activity=info.launcher,
            target_sdk=info.target_sdk,
            self_starts=tuple(SelfStart(s.every, s.reason, s.component, s.first_after) for s in info.self_starts),
            activities=tuple(dict.fromkeys([info.launcher, *(s.activity for s in self.model.screens.values())])),
        )

    @property
    def expected(self) -> tuple[Expectation, ...]:
        """Ground truth: the findings this app must produce (empty for a clean control)."""
        return tuple(self.model.expect)

    @property
    def control(self) -> bool:
        return self.model.control

    def create(self, host: AppHost) -> AppRuntime:
        from emulator.zoo.runtime import ZooRuntime  # the runtime imports layout; keep loading light

        return ZooRuntime(self.model, host)


UNION_TAGS = frozenset(ACTION_TYPES) | frozenset(WIDGET_TYPES)


def _place(loc: tuple) -> str:
    """pydantic's error location as the path a person reads in the file: `screens.home.content[0].on_tap[1]`."""
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif 0 < i < len(loc) - 1 and isinstance(loc[i - 1], int) and part in UNION_TAGS:
            continue  # the union member pydantic chose (`button`, `request`) is not written in the file
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "(top)"


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_app(text: str, source: str) -> AppModel:
    """Validate one app file's text; `source` names it in errors."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"line {mark.line + 1}" if mark else "(yaml)"
        raise ZooError(f"{source}: {place}: not valid YAML: {_one_line(getattr(exc, 'problem', exc))}") from None
    if not isinstance(data, dict):
        raise ZooError(f"{source}: (top): expected a mapping with app, expect and screens")
    try:
        model = AppModel.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "missing":
            msg = "required field missing"
        raise ZooError(f"{source}: {_place(err['loc'])}: {_one_line(msg)}") from None
    problems = check_references(model)
    if problems:
        place, what = problems[0]
        raise ZooError(f"{source}: {place}: {what}")
    return model


def load_app(path: str | Path) -> ZooApp:
    path = Path(path)
    if path.suffix.lower() == ".apk":
        try:
            return load_app_bytes(path.read_bytes(), str(path))
        except OSError as exc:
            raise ZooError(f"{path}: (file): cannot read: {exc.strerror}") from None
    try:
        if path.stat().st_size > MAX_FILE:
            raise ZooError(f"{path}: (file): larger than {MAX_FILE} bytes")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ZooError(f"{path}: (file): cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ZooError(f"{path}: (file): not UTF-8 text") from None
    return ZooApp(parse_app(text, str(path)), path)


def load_zoo(paths: list[str | Path] | None = None) -> list[ZooApp]:
    """Every app under the given files/directories (default: emulator/zoo/apps/), sorted by package."""
    files: list[Path] = []
    for entry in [Path(p) for p in (paths or [APPS_DIR])]:
        if entry.is_dir():
            files.extend(sorted(p for p in entry.iterdir() if p.suffix in (".yaml", ".yml", ".apk")))
        else:
            files.append(entry)
    apps = [load_app(f) for f in files]
    seen: dict[str, ZooApp] = {}
    for app in apps:
        other = seen.setdefault(app.manifest.package, app)
        if other is not app:
            raise ZooError(f"{app.path}: app.package: '{app.manifest.package}' is also declared by {other.path}")
    return sorted(apps, key=lambda a: a.manifest.package)


def load_app_bytes(data: bytes, name: str) -> ZooApp:
    """A sim APK: a zip holding naysayer-app.yaml. Anything else is 'not a sim APK'."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo(APK_ENTRY)
            if info.file_size > MAX_FILE:
                raise ZooError(f"{name}: {APK_ENTRY}: larger than {MAX_FILE} bytes")
            raw = archive.read(info)
    except (zipfile.BadZipFile, KeyError, EOFError, ValueError) as exc:
        if isinstance(exc, ZooError):
            raise
        raise ZooError(f"{name}: (archive): not a sim APK (a zip holding {APK_ENTRY})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ZooError(f"{name}: {APK_ENTRY}: not UTF-8 text") from None
    return ZooApp(parse_app(text, f"{name}!{APK_ENTRY}"), None)


def build_sim_apk(app_yaml_path: str | Path, out_path: str | Path) -> Path:
    """Validate an app file and pack it as a sim APK (byte-identical for identical input)."""
    app = load_app(app_yaml_path)
    text = Path(app_yaml_path).read_bytes()
    out = Path(out_path)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        entry = zipfile.ZipInfo(APK_ENTRY, date_time=(2020, 1, 1, 0, 0, 0))
        entry.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(entry, text)
        manifest = zipfile.ZipInfo("AndroidManifest.txt", date_time=(2020, 1, 1, 0, 0, 0))
        archive.writestr(manifest, f"package={app.manifest.package}\nversionCode={app.manifest.version_code}\n"
                                   f"versionName={app.manifest.version_name}\n")
    return out


def native_stub_app(package: str, label: str = "") -> ZooApp:
    """A real (compiled) APK installed on the simulator: its code cannot run here, so it is a clean app with one
    screen saying so. It is listed, has a path, a pid when started, and its launcher shows that screen."""
    label = (label or package.rsplit(".", 1)[-1])[:40]
    model = AppModel.model_validate({
        "app": {"package": package, "label": label, "locale": "en-US", "category": "native",
                "launcher": ".MainActivity"},
        "control": True, "expect": [],
        "screens": {"main": {"activity": ".MainActivity", "toolbar": {"title": label},
                             "content": [{"type": "text", "text": "This app's code does not run on the simulator."}]}},
    })
    return ZooApp(model, None)
