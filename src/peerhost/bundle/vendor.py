"""Vendoring the project's pinned pure-Python dependencies (requirements.txt) into bundles.

Each requirement must be pinned (`name==version`). Its wheel is fetched with pip from the
configured index (cached), must be pure Python (`*-none-any.whl`), and its files are placed under
`vendor/` in the bundle, exactly as in the wheel: the same pins give the same bytes everywhere.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from peerhost.bundle.archive import check_member_path
from peerhost.bundle.errors import BundleError, UnsafeContent

REQUIREMENTS = "requirements.txt"
VENDOR_DIR = "vendor"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9][A-Za-z0-9.+!_-]*)$")


@dataclass(frozen=True)
class Pin:
    name: str
    version: str

    @property
    def wheel_prefix(self) -> str:
        """Wheel file names use the normalized name with underscores (PEP 427)."""
        return re.sub(r"[-_.]+", "_", self.name).lower() + "-" + self.version + "-"


def default_cache_dir() -> Path:
    base = os.environ.get("PEERHOST_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "peerhost")
    return Path(base) / "wheels"


def parse_requirements(text: str, source: str = REQUIREMENTS) -> list[Pin]:
    pins = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if not match:
            raise BundleError(f"{source}:{number}: {line!r} is not pinned: write it as name==version")
        pins.append(Pin(match.group(1), match.group(2)))
    return sorted(pins, key=lambda p: p.name.lower())


def _find_wheel(cache: Path, pin: Pin) -> Path | None:
    if not cache.is_dir():
        return None
    for path in sorted(cache.iterdir()):
        if path.name.lower().startswith(pin.wheel_prefix) and path.suffix == ".whl":
            return path
    return None


def fetch_wheel(pin: Pin, cache: Path) -> Path:
    """The pure-Python wheel of `pin`, from the cache or downloaded by pip."""
    wheel = _find_wheel(cache, pin)
    if wheel is None:
        cache.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "--disable-pip-version-check", "--dest", str(cache), f"{pin.name}=={pin.version}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
            raise BundleError(f"cannot fetch {pin.name}=={pin.version}: {last}")
        wheel = _find_wheel(cache, pin)
        if wheel is None:
            raise BundleError(f"pip did not produce a wheel for {pin.name}=={pin.version}")
    tags = wheel.stem.split("-")[-2:]
    if tags != ["none", "any"]:
        raise BundleError(f"{pin.name}=={pin.version} is not pure Python ({wheel.name}): it cannot be vendored")
    return wheel


def wheel_files(wheel: Path) -> dict[str, bytes]:
    """The files a wheel installs into site-packages, by path under `vendor/`."""
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            name = check_member_path(info.filename)
            parts = name.split("/")
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue  # scripts, headers, data: not importable code
                name = "/".join(parts[2:])
            if name.endswith((".so", ".pyd", ".dylib")):
                raise UnsafeContent(f"{wheel.name} contains native code ({name}): not pure Python")
            with zf.open(info) as member:
                files[f"{VENDOR_DIR}/{name}"] = member.read()
    return files


def vendor_requirements(requirements: bytes | None, cache: Path | None = None) -> dict[str, bytes]:
    """Files under `vendor/` for the project's requirements.txt content (empty without one)."""
    if requirements is None:
        return {}
    pins = parse_requirements(requirements.decode("utf-8", "replace"))
    files: dict[str, bytes] = {}
    for pin in pins:
        files.update(wheel_files(fetch_wheel(pin, cache or default_cache_dir())))
    return files
