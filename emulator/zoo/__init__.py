"""The zoo: scenario apps declared as data (emulator/zoo/apps/*.yaml), and the runtime that runs one on the simulator.

    load_app(path) -> ZooApp            one YAML file (or .apk sim APK)
    load_zoo(paths=None) -> [ZooApp]    every app under the given paths (default: emulator/zoo/apps/)
    load_app_bytes(data, name)          a sim APK's bytes (a zip holding naysayer-app.yaml)
    build_sim_apk(yaml_path, out_path)  pack an app file as a sim APK

A `ZooApp` is an `AppPackage` (`.manifest`, `.create(host)`) with its ground truth in `.expected`.
"""

from emulator.zoo.loader import ZooApp, build_sim_apk, load_app, load_app_bytes, load_zoo
from emulator.zoo.model import ZooError

__all__ = ["ZooApp", "ZooError", "build_sim_apk", "load_app", "load_app_bytes", "load_zoo"]
