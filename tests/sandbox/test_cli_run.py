"""`peerhost run`: the local simulator, through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEERHOST_")}
    return subprocess.run([sys.executable, "-m", "peerhost.cli.main", "run", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)  # fmt: skip


def test_run_by_file_prints_response_and_stats() -> None:
    out = run_cli(str(EXAMPLES / "hello" / "functions" / "hello.py"), "-q", "name=ada")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "HTTP 200"
    assert out.stdout.strip().endswith('{"message":"hello ada"}')
    assert "wall" in out.stderr and "peak memory" in out.stderr and "network calls 0" in out.stderr


def test_run_by_name_with_body_json_and_file(tmp_path: Path) -> None:
    out = run_cli("echo", "--project", str(EXAMPLES / "paid"), "-X", "POST", "-d", '{"x": 1}', "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["status"] == 200 and json.loads(data["body"]) == {"x": 1}
    assert data["error"] is None and data["stats"]["wall_ms"] > 0
    body = tmp_path / "body.json"
    body.write_text('{"from": "file"}')
    out = run_cli("echo", "--project", str(EXAMPLES / "paid"), "-X", "POST", "-d", f"@{body}", "--json")
    assert json.loads(json.loads(out.stdout)["body"]) == {"from": "file"}


def test_exit_code_is_nonzero_when_the_function_fails(tmp_path: Path) -> None:
    (tmp_path / "functions").mkdir()
    (tmp_path / "peerhost.toml").write_text('[project]\nname = "p"\n[functions.boom]\ntimeout_ms = 1000\n')
    (tmp_path / "functions" / "boom.py").write_text("def handler(r, ctx=None):\n    raise RuntimeError('kaput')\n")
    (tmp_path / "functions" / "teapot.py").write_text(
        "from peerhost import Response\n\ndef handler(r, ctx=None):\n    return Response('no', status=418)\n")
    failed = run_cli(str(tmp_path / "functions" / "boom.py"))
    assert failed.returncode == 1
    assert "the function failed: exception" in failed.stderr
    assert "RuntimeError: kaput" in failed.stderr  # the log, shown to the developer
    teapot = run_cli(str(tmp_path / "functions" / "teapot.py"))
    assert teapot.returncode == 0 and "HTTP 418" in teapot.stdout, "a response the function produced is success"


def test_usage_errors() -> None:
    missing = run_cli("nope.py")
    assert missing.returncode == 1 and "pass --project DIR" in missing.stderr
    unknown = run_cli("ghost", "--project", str(EXAMPLES / "hello"))
    assert unknown.returncode == 1 and "functions: hello" in unknown.stderr
    undeclared = run_cli("hello", "--project", str(EXAMPLES / "hello"), "--env", "SECRET=1")
    assert undeclared.returncode == 1 and "SECRET not declared" in undeclared.stderr
    bad_query = run_cli("hello", "--project", str(EXAMPLES / "hello"), "-q", "novalue")
    assert bad_query.returncode == 1 and "is not KEY=VALUE" in bad_query.stderr
