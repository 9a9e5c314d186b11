"""Building projects into deterministic bundles."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from peerhost.bundle.archive import Limits, read_archive
from peerhost.bundle.builder import BundleManifest, build_project, open_bundle
from peerhost.bundle.errors import BundleError, UnsafeContent
from peerhost.storage.unixfs import import_bytes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def cids(project: Path, **kwargs) -> dict[str, str]:
    return {fn.name: str(fn.cid) for fn in build_project(project, **kwargs).functions}


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_examples_build() -> None:
    for name, functions in {"hello": {"hello"}, "paid": {"echo"}, "weather": {"forecast"}}.items():
        result = build_project(EXAMPLES / name)
        assert result.project == name
        assert {fn.name for fn in result.functions} == functions
        for fn in result.functions:
            assert fn.cid == import_bytes(fn.archive, 1)[0]
            manifest, files = open_bundle(fn.archive)
            assert manifest.function == fn.name and manifest.entry in files
    paid = build_project(EXAMPLES / "paid").functions[0]
    assert paid.config.price_atomic == 10_000
    weather = build_project(EXAMPLES / "weather").functions[0]
    assert weather.manifest.network == ("api.open-meteo.com",)


def test_local_helper_modules_are_included_and_nothing_else() -> None:
    fn = build_project(EXAMPLES / "hello").functions[0]
    assert fn.files == ("common/__init__.py", "common/text.py", "functions/hello.py", "peerhost.json")


def _git(*args: str, cwd: Path, umask: int = 0o022) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   preexec_fn=lambda: os.umask(umask),  # noqa: PLW1509 - tests only
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"})  # fmt: skip


def test_reproducible_across_clones_mtimes_umask_and_paths(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    shutil.copytree(EXAMPLES / "hello", origin)
    _git("init", "-q", cwd=origin)
    _git("add", "-A", cwd=origin)
    _git("commit", "-qm", "example", cwd=origin)
    a = tmp_path / "clone-a"
    b = tmp_path / "somewhere" / "else" / "clone-b"
    b.parent.mkdir(parents=True)
    _git("clone", "-q", str(origin), str(a), cwd=tmp_path, umask=0o022)
    _git("clone", "-q", str(origin), str(b), cwd=tmp_path, umask=0o077)
    for i, path in enumerate(sorted(b.rglob("*"))):
        os.utime(path, (1_000_000 + i, 1_000_000 + i * 7))
    assert oct((b / "functions" / "hello.py").stat().st_mode & 0o777) != oct((a / "functions" / "hello.py").stat().st_mode & 0o777)
    env_locale = os.environ.get("LC_ALL")
    try:
        os.environ["LC_ALL"] = "C"
        first = cids(a)
    finally:
        if env_locale is None:
            os.environ.pop("LC_ALL", None)
        else:
            os.environ["LC_ALL"] = env_locale
    assert first == cids(b)
    assert first == cids(EXAMPLES / "hello")
    assert cids(a, cid_version=0) == cids(b, cid_version=0)


def test_changed_code_changes_the_cid(tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(EXAMPLES / "hello", project)
    before = cids(project)
    (project / "common" / "text.py").write_text((project / "common" / "text.py").read_text() + "\n# changed\n")
    assert cids(project) != before


def test_secrets_never_enter_a_bundle(tmp_path: Path, monkeypatch) -> None:
    project = write(tmp_path / "p", {
        "peerhost.toml": '[project]\nname = "p"\n[functions.f]\nenv = ["API_KEY"]\n',
        "functions/f.py": "import os\n\ndef handler(request, ctx=None):\n    return ctx.env['API_KEY']\n",
        ".env": "API_KEY=super-secret-value\n",
    })  # fmt: skip
    before = cids(project)
    monkeypatch.setenv("API_KEY", "super-secret-value")
    fn = build_project(project).functions[0]
    assert str(fn.cid) == before["f"], "environment values do not affect bundles"
    assert b"super-secret-value" not in fn.archive
    assert ".env" not in fn.files
    assert BundleManifest.decode(read_archive(fn.archive)["peerhost.json"]).env == ("API_KEY",)


def test_importing_a_secret_file_is_refused(tmp_path: Path) -> None:
    project = write(tmp_path / "p", {
        "peerhost.toml": '[project]\nname = "p"\n',
        "functions/f.mjs": "import key from './id_rsa.json';\nexport default async () => key;\n",
        "functions/id_rsa.json": "{}",
    })  # fmt: skip
    with pytest.raises(UnsafeContent, match="looks like a secret"):
        build_project(project)


def test_javascript_functions_with_relative_imports(tmp_path: Path) -> None:
    project = write(tmp_path / "p", {
        "peerhost.toml": '[project]\nname = "p"\n',
        "functions/greet.mjs": "import { hi } from './lib/hi.mjs';\nimport cfg from '../shared/cfg.json' with { type: 'json' };\n"
                               "export default async function (request, ctx) { return hi(cfg.name); }\n",
        "functions/lib/hi.mjs": "export function hi(n) { return `hi ${n}`; }\nconst x = await import('./late.js');\n",
        "functions/lib/late.js": "module.exports = 1;\n",
        "shared/cfg.json": '{"name": "x"}',
        "shared/unused.js": "throw 1",
    })  # fmt: skip
    fn = build_project(project).functions[0]
    assert fn.runtime == "node"
    assert fn.files == ("functions/greet.mjs", "functions/lib/hi.mjs", "functions/lib/late.js", "peerhost.json",
                        "shared/cfg.json")


def test_python_package_and_relative_imports(tmp_path: Path) -> None:
    project = write(tmp_path / "p", {
        "peerhost.toml": '[project]\nname = "p"\n',
        "functions/calc/main.py": "from .ops import add\nimport lib.deep.mod\n\ndef handler(r, ctx=None):\n    return add(1, 2)\n",
        "functions/calc/ops.py": "def add(a, b):\n    return a + b\n",
        "functions/calc/__init__.py": "",
        "lib/__init__.py": "",
        "lib/deep/__init__.py": "",
        "lib/deep/mod.py": "import json\n",
        "functions/_helpers.py": "# not a function\n",
    })  # fmt: skip
    fn = build_project(project).functions[0]
    assert fn.name == "calc"
    assert fn.files == ("functions/calc/main.py", "functions/calc/ops.py", "lib/__init__.py", "lib/deep/__init__.py",
                        "lib/deep/mod.py", "peerhost.json")


def test_project_errors(tmp_path: Path) -> None:
    project = write(tmp_path / "p", {"peerhost.toml": '[project]\nname = "p"\n[functions.ghost]\n'})
    with pytest.raises(BundleError, match=r"functions.ghost: no function file \(functions/ghost.py"):
        build_project(project)
    project = write(tmp_path / "q", {"peerhost.toml": '[project]\nname = "q"\n', "functions/Bad_Name.py": ""})
    with pytest.raises(BundleError, match="not a valid function name"):
        build_project(project)
    project = write(tmp_path / "r", {"peerhost.toml": '[project]\nname = "r"\n', "functions/f.py": "def (:\n"})
    with pytest.raises(BundleError, match=r"functions/f.py:1: syntax error"):
        build_project(project)
    project = write(tmp_path / "s", {"peerhost.toml": '[project]\nname = "s"\n', "functions/f.py": "", "functions/f.js": ""})
    with pytest.raises(BundleError, match="several entry points"):
        build_project(project)
    project = write(tmp_path / "t", {"peerhost.toml": '[project]\nname = "t"\n', "README.md": "no functions"})
    with pytest.raises(BundleError, match="no functions found"):
        build_project(project)
    project = write(tmp_path / "u", {"peerhost.toml": '[project]\nname = "u"\n',
                                     "functions/f.mjs": "import x from './missing.js';\n"})  # fmt: skip
    with pytest.raises(BundleError, match="cannot resolve import './missing.js'"):
        build_project(project)


# ------------------------------------------------------------------ hostile input


def test_symlink_out_of_the_project_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("host secret")
    project = write(tmp_path / "p", {"peerhost.toml": '[project]\nname = "p"\n'})
    (project / "functions").mkdir()
    (project / "functions" / "evil.py").symlink_to(outside)
    with pytest.raises(UnsafeContent, match="symlink that leads out of the project"):
        build_project(project)


def test_symlink_inside_the_project_is_followed(tmp_path: Path) -> None:
    project = write(tmp_path / "p", {"peerhost.toml": '[project]\nname = "p"\n', "src/impl.py": "def handler(r):\n    return 1\n"})
    (project / "functions").mkdir()
    (project / "functions" / "f.py").symlink_to(project / "src" / "impl.py")
    fn = build_project(project).functions[0]
    assert read_archive(fn.archive)["functions/f.py"] == b"def handler(r):\n    return 1\n"


def test_import_traversal_is_refused(tmp_path: Path) -> None:
    project = write(tmp_path / "p", {"peerhost.toml": '[project]\nname = "p"\n',
                                     "functions/f.mjs": "import x from '../../../etc/passwd';\n"})  # fmt: skip
    with pytest.raises(UnsafeContent, match="leads out of the project"):
        build_project(project)


def test_device_files_are_refused(tmp_path: Path) -> None:
    project = write(tmp_path / "p", {"peerhost.toml": '[project]\nname = "p"\n'})
    (project / "functions").mkdir()
    os.mkfifo(project / "functions" / "f.py")
    with pytest.raises(UnsafeContent, match="not a regular file"):
        build_project(project)


def test_projects_over_the_size_limit_are_refused(tmp_path: Path) -> None:
    project = write(tmp_path / "p", {"peerhost.toml": '[project]\nname = "p"\n',
                                     "functions/f.py": "x = '" + "a" * 5000 + "'\n"})  # fmt: skip
    with pytest.raises(UnsafeContent, match="more than the limit of 4096"):
        build_project(project, limits=Limits(max_file_size=4096))
    with pytest.raises(UnsafeContent, match="bundle is .* bytes, more than the limit"):
        build_project(project, limits=Limits(max_total_size=4096))


# ------------------------------------------------------------------ vendoring


def test_pinned_pure_python_requirements_are_vendored(tmp_path: Path) -> None:
    project = write(tmp_path / "p", {
        "peerhost.toml": '[project]\nname = "p"\n',
        "requirements.txt": "# pinned\nsix==1.16.0\n",
        "functions/f.py": "import six\n\ndef handler(r, ctx=None):\n    return six.__version__\n",
    })  # fmt: skip
    cache = tmp_path / "wheels"
    fn = build_project(project, wheel_cache=cache).functions[0]
    files = read_archive(fn.archive)
    assert "vendor/six.py" in files
    assert any(name.startswith("vendor/six-1.16.0.dist-info/") for name in files)
    # Reproducible from the cache, and the same as a fresh download.
    assert build_project(project, wheel_cache=cache).functions[0].cid == fn.cid
    assert build_project(project, wheel_cache=tmp_path / "fresh").functions[0].cid == fn.cid


def test_unpinned_requirements_are_refused(tmp_path: Path) -> None:
    project = write(tmp_path / "p", {"peerhost.toml": '[project]\nname = "p"\n', "functions/f.py": "",
                                     "requirements.txt": "six>=1.0\n"})  # fmt: skip
    with pytest.raises(BundleError, match=r"requirements.txt:1: 'six>=1.0' is not pinned"):
        build_project(project, wheel_cache=tmp_path / "c")


def test_native_wheels_are_refused(tmp_path: Path) -> None:
    cache = tmp_path / "wheels"
    cache.mkdir()
    with zipfile.ZipFile(cache / "fastthing-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "w") as zf:
        zf.writestr("fastthing/__init__.py", "")
    project = write(tmp_path / "p", {"peerhost.toml": '[project]\nname = "p"\n', "functions/f.py": "",
                                     "requirements.txt": "fastthing==1.0\n"})  # fmt: skip
    with pytest.raises(BundleError, match="is not pure Python"):
        build_project(project, wheel_cache=cache)
