"""Building from git URLs: a local repository served over loopback by `git daemon`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peerhost.bundle.builder import build_project
from peerhost.bundle.errors import BundleError
from peerhost.bundle.source import checkout, is_git_url

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=GIT_ENV).stdout


@pytest.fixture(scope="module")
def git_server(tmp_path_factory):
    """A bare repository of examples/hello with a v1 tag and a newer commit, served by git daemon."""
    base = tmp_path_factory.mktemp("git")
    work = base / "work"
    shutil.copytree(EXAMPLES / "hello", work)
    git("init", "-q", "-b", "main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "v1", cwd=work)
    git("tag", "v1", cwd=work)
    first = git("rev-parse", "HEAD", cwd=work).strip()
    (work / "common" / "text.py").write_text((work / "common" / "text.py").read_text().replace("hello", "hi"))
    git("commit", "-qam", "v2", cwd=work)
    git("clone", "-q", "--bare", str(work), str(base / "hello.git"), cwd=base)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={base}", "--listen=127.0.0.1",
         f"--port={port}", "--informative-errors", str(base)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"git://127.0.0.1:{port}/hello.git"
    deadline = time.monotonic() + 15
    while subprocess.run(["git", "ls-remote", url], capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, "git daemon did not start"
        time.sleep(0.1)
    yield url, first, work
    daemon.terminate()
    daemon.wait()


def test_default_branch_and_refs(git_server) -> None:
    url, first_commit, work = git_server
    with checkout(url) as path:
        latest = {fn.name: fn.cid for fn in build_project(path).functions}
        assert (path / ".git" / "shallow").exists(), "clones are shallow"
    with checkout(url, "v1") as path:
        v1 = {fn.name: fn.cid for fn in build_project(path).functions}
    with checkout(url, first_commit) as path:
        by_sha = {fn.name: fn.cid for fn in build_project(path).functions}
    assert v1 == by_sha == {fn.name: fn.cid for fn in build_project(EXAMPLES / "hello").functions}
    assert latest != v1
    assert latest == {fn.name: fn.cid for fn in build_project(work).functions}


def test_bad_git_sources(git_server) -> None:
    url, _, _ = git_server
    with pytest.raises(BundleError, match="cannot fetch 'no-such-ref'"):
        with checkout(url, "no-such-ref"):
            pass
    with pytest.raises(BundleError, match="cannot clone"):
        with checkout(url.replace("hello.git", "missing.git")):
            pass
    with pytest.raises(BundleError, match="--ref applies to git URLs only"):
        with checkout(str(EXAMPLES / "hello"), "main"):
            pass
    with pytest.raises(BundleError, match="neither a project folder nor a git URL"):
        with checkout("/no/such/folder"):
            pass


def test_url_detection() -> None:
    for url in ["git://h/x", "https://h/x.git", "ssh://h/x", "git@github.com:o/r.git", "file:///tmp/r", "http://h/r"]:
        assert is_git_url(url)
    assert not is_git_url(str(EXAMPLES / "hello"))


def test_cli_build_from_git_and_folder(git_server, tmp_path: Path) -> None:
    import json

    url, _, _ = git_server
    out = subprocess.run([sys.executable, "-m", "peerhost.cli.main", "build", url, "--ref", "v1", "--json",
                          "--out", str(tmp_path)], capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    local = subprocess.run([sys.executable, "-m", "peerhost.cli.main", "build", str(EXAMPLES / "hello")],
                           capture_output=True, text=True)  # fmt: skip
    name, cid, size = local.stdout.split()
    assert data["functions"][0]["cid"] == cid and name == "hello"
    assert (tmp_path / f"{cid}.tar").stat().st_size == int(size)
    bad = subprocess.run([sys.executable, "-m", "peerhost.cli.main", "build", str(tmp_path)], capture_output=True, text=True)
    assert bad.returncode == 1 and "peerhost.toml: not found" in bad.stderr
