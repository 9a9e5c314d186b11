"""Building a project's functions into deterministic, content-addressed bundles."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peerhost.bundle.archive import DEFAULT_LIMITS, Limits, read_archive, write_archive
from peerhost.bundle.errors import BundleError
from peerhost.bundle.manifest import FunctionConfig, Manifest, load_manifest
from peerhost.bundle.project import FunctionSource, ProjectFiles, discover_functions, local_dependencies
from peerhost.bundle.vendor import REQUIREMENTS, vendor_requirements
from peerhost.storage.cid import CID
from peerhost.storage.unixfs import Block, import_bytes

BUNDLE_MANIFEST = "peerhost.json"
BUNDLE_FORMAT = 1


@dataclass(frozen=True)
class BundleManifest:
    """What a worker needs to run a bundle, stored in it as `peerhost.json`."""

    project: str
    function: str
    runtime: str
    entry: str
    timeout_ms: int
    memory_mb: int
    network: tuple[str, ...]
    env: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": BUNDLE_FORMAT,
            "project": self.project,
            "function": self.function,
            "runtime": self.runtime,
            "entry": self.entry,
            "timeout_ms": self.timeout_ms,
            "memory_mb": self.memory_mb,
            "network": list(self.network),
            "env": list(self.env),
        }

    def encode(self) -> bytes:
        return (json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")) + "\n").encode()

    @classmethod
    def decode(cls, data: bytes) -> BundleManifest:
        try:
            raw = json.loads(data)
            if raw.get("format") != BUNDLE_FORMAT:
                raise BundleError(f"unsupported bundle format {raw.get('format')!r}")
            return cls(raw["project"], raw["function"], raw["runtime"], raw["entry"], int(raw["timeout_ms"]),
                       int(raw["memory_mb"]), tuple(raw["network"]), tuple(raw["env"]))  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BundleError(f"bundle {BUNDLE_MANIFEST} is invalid: {exc}") from None


@dataclass(frozen=True)
class BuiltFunction:
    name: str
    runtime: str
    config: FunctionConfig
    manifest: BundleManifest
    archive: bytes
    cid: CID
    blocks: tuple[Block, ...]
    files: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.archive)


@dataclass(frozen=True)
class BuildResult:
    project: str
    manifest: Manifest
    functions: tuple[BuiltFunction, ...]


def build_function(
    files: ProjectFiles, manifest: Manifest, function: FunctionSource, vendored: dict[str, bytes], cid_version: int
) -> BuiltFunction:
    config = manifest.config_for(function.name)
    bundle_manifest = BundleManifest(
        project=manifest.project.name,
        function=function.name,
        runtime=function.runtime,
        entry=function.entry,
        timeout_ms=config.timeout_ms,
        memory_mb=config.memory_mb,
        network=config.network,
        env=config.env,
    )
    contents = {rel: files.read(rel) for rel in local_dependencies(files, function)}
    if function.runtime == "python":
        contents.update(vendored)
    contents[BUNDLE_MANIFEST] = bundle_manifest.encode()
    archive = write_archive(contents, files.limits)
    cid, blocks = import_bytes(archive, cid_version)
    return BuiltFunction(function.name, function.runtime, config, bundle_manifest, archive, cid, tuple(blocks),
                         tuple(sorted(contents)))  # fmt: skip


def build_project(
    project_dir: Path, *, cid_version: int = 1, limits: Limits = DEFAULT_LIMITS, wheel_cache: Path | None = None
) -> BuildResult:
    """Builds every function of the project at `project_dir`."""
    project_dir = Path(project_dir)
    if not project_dir.is_dir():
        raise BundleError(f"{project_dir} is not a directory")
    manifest = load_manifest(project_dir)
    files = ProjectFiles(project_dir, limits)
    requirements = files.read(REQUIREMENTS) if files.is_file(REQUIREMENTS) else None
    vendored = vendor_requirements(requirements, wheel_cache)
    functions = discover_functions(files, manifest)
    built = tuple(build_function(files, manifest, f, vendored, cid_version) for f in functions)
    return BuildResult(manifest.project.name, manifest, built)


def open_bundle(archive: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[BundleManifest, dict[str, bytes]]:
    """Reads and checks a bundle archive: its manifest and its files."""
    files = read_archive(archive, limits)
    if BUNDLE_MANIFEST not in files:
        raise BundleError(f"not a PeerHost bundle: no {BUNDLE_MANIFEST}")
    manifest = BundleManifest.decode(files[BUNDLE_MANIFEST])
    if manifest.entry not in files:
        raise BundleError(f"bundle entry point {manifest.entry} is missing")
    return manifest, files
