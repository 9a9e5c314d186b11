"""Running a project's function locally in the workers' sandbox (`peerhost run`)."""

from __future__ import annotations

import time
from pathlib import Path

from peerhost.bundle.builder import BuiltFunction, build_project, open_bundle
from peerhost.bundle.errors import BundleError
from peerhost.bundle.manifest import MANIFEST_NAME
from peerhost.sandbox.limits import Limits
from peerhost.sandbox.pool import SandboxRunner
from peerhost.sandbox.runner import ExecutionResult, HttpRequest, Invocation, SandboxConfig


def find_project(function: Path) -> Path:
    """The nearest folder above `function` that holds a peerhost.toml."""
    for parent in Path(function).resolve().parents:
        if (parent / MANIFEST_NAME).is_file():
            return parent
    raise BundleError(f"no {MANIFEST_NAME} above {function}: pass --project DIR")


def select_function(project: Path, function: str) -> BuiltFunction:
    """Builds the project and picks `function` (a file path or a function name)."""
    built = build_project(project).functions
    path = Path(function)
    if path.exists():
        rel = path.resolve().relative_to(project.resolve()).as_posix()
        match = [fn for fn in built if fn.manifest.entry == rel]
    else:
        match = [fn for fn in built if fn.name == function]
    if not match:
        names = ", ".join(fn.name for fn in built)
        raise BundleError(f"{function} is not a function of {project} (functions: {names})")
    return match[0]


def invocation_for(fn: BuiltFunction, request: HttpRequest, env: dict[str, str], request_id: str = "local") -> Invocation:
    undeclared = sorted(set(env) - set(fn.manifest.env))
    if undeclared:
        raise BundleError(f"{', '.join(undeclared)} not declared in peerhost.toml env of {fn.name}")
    manifest, files = open_bundle(fn.archive)
    limits = Limits(timeout_ms=manifest.timeout_ms, memory_mb=manifest.memory_mb)
    return Invocation(manifest.runtime, manifest.entry, files, request, request_id, int(time.time()), env,
                      manifest.network, limits)  # fmt: skip


def run_local(fn: BuiltFunction, request: HttpRequest, env: dict[str, str], config: SandboxConfig | None = None) -> ExecutionResult:
    with SandboxRunner(config) as runner:
        return runner.run(invocation_for(fn, request, env))
