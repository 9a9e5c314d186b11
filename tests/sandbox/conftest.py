from __future__ import annotations

import textwrap

import pytest

from peerhost.sandbox.limits import Limits
from peerhost.sandbox.pool import SandboxRunner
from peerhost.sandbox.runner import ExecutionResult, HttpRequest, Invocation, SandboxConfig


#: The sandbox tests' own host uids, apart from the devnets' workers (200000+): "no process left
#: behind" checks must not see other tests' processes.
UID_BASE, UID_COUNT = 260_000, 1_000


@pytest.fixture(scope="session")
def runner():
    with SandboxRunner(SandboxConfig(allow_private_egress=True, uid_base=UID_BASE, uid_count=UID_COUNT)) as r:
        yield r


@pytest.fixture
def run_py(runner):
    """Runs `source` (a module defining handler) as functions/f.py in a fresh sandbox."""

    def run(source: str, *, request: HttpRequest = HttpRequest(), network: tuple[str, ...] = (),
            env: dict[str, str] | None = None, files: dict[str, bytes] | None = None, **limits) -> ExecutionResult:  # fmt: skip
        all_files = {"functions/f.py": textwrap.dedent(source).encode(), **(files or {})}
        inv = Invocation("python", "functions/f.py", all_files, request, "req-1", 1_700_000_000, env or {}, network,
                         Limits(**{"timeout_ms": 5000, **limits}))  # fmt: skip
        return runner.run(inv)

    return run
