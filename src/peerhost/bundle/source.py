"""Where a project comes from: a local folder, or a git repository cloned shallowly."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from peerhost.bundle.errors import BundleError

_GIT_URL = re.compile(r"^(git|ssh|https?|file)://|^[\w.-]+@[\w.-]+:|\.git/?$")
GIT_TIMEOUT = 300


def is_git_url(source: str) -> bool:
    return bool(_GIT_URL.search(source)) and not Path(source).is_dir()


def _git(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env,
                              timeout=GIT_TIMEOUT, check=False)  # fmt: skip
    except FileNotFoundError:
        raise BundleError("git is not installed: it is needed to build from a git URL") from None
    except subprocess.TimeoutExpired:
        raise BundleError(f"git {args[0]} took longer than {GIT_TIMEOUT}s") from None


def _reason(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"git exited with {proc.returncode}"


@contextlib.contextmanager
def checkout(source: str, ref: str | None = None) -> Iterator[Path]:
    """Yields a local directory with the project: `source` itself, or a shallow clone of it."""
    if not is_git_url(source):
        if ref is not None:
            raise BundleError("--ref applies to git URLs only")
        path = Path(source)
        if not path.is_dir():
            raise BundleError(f"{source} is neither a project folder nor a git URL")
        yield path
        return
    tmp = Path(tempfile.mkdtemp(prefix="peerhost-git-"))
    try:
        target = tmp / "src"
        if ref is None:
            proc = _git(["clone", "--quiet", "--depth", "1", "--no-tags", source, str(target)])
            if proc.returncode != 0:
                raise BundleError(f"cannot clone {source}: {_reason(proc)}")
        else:
            target.mkdir()
            for args in (["init", "--quiet"], ["fetch", "--quiet", "--depth", "1", source, ref]):
                proc = _git(args, cwd=target)
                if proc.returncode != 0:
                    raise BundleError(f"cannot fetch {ref!r} from {source}: {_reason(proc)}")
            proc = _git(["checkout", "--quiet", "FETCH_HEAD"], cwd=target)
            if proc.returncode != 0:
                raise BundleError(f"cannot check out {ref!r}: {_reason(proc)}")
        yield target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def head_commit(path: Path) -> str | None:
    """The commit a checkout is at, when it is a git work tree."""
    proc = _git(["rev-parse", "HEAD"], cwd=path)
    return proc.stdout.strip() if proc.returncode == 0 else None
