"""The function API in the sandbox: requests, responses, context, errors, warm pool, egress, Node."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from peerhost.sandbox.limits import Limits
from peerhost.sandbox.pool import SandboxRunner
from peerhost.sandbox.runner import HttpRequest, Invocation, SandboxConfig


def test_request_model_and_json_response(run_py) -> None:
    result = run_py("""
        def handler(request, ctx=None):
            return {"method": request.method, "path": request.path, "query": request.query,
                    "all": request.query_params, "header": request.headers.get("x-thing"),
                    "json": request.json(), "text": request.text()}
    """, request=HttpRequest("POST", "/sub/path", (("a", "1"), ("a", "2"), ("b", "x")),
                             (("X-Thing", "yes"),), b'{"k": [1, 2]}'))  # fmt: skip
    assert result.ok and result.status == 200
    assert result.headers["content-type"] == "application/json"
    data = json.loads(result.body)
    assert data == {"method": "POST", "path": "/sub/path", "query": {"a": "1", "b": "x"},
                    "all": [["a", "1"], ["a", "2"], ["b", "x"]], "header": "yes", "json": {"k": [1, 2]},
                    "text": '{"k": [1, 2]}'}  # fmt: skip


@pytest.mark.parametrize(
    ("ret", "status", "ctype", "body"),
    [
        ("'plain'", 200, "text/plain; charset=utf-8", b"plain"),
        ("b'\\x00\\x01'", 200, "application/octet-stream", b"\x00\x01"),
        ("[1, 'two']", 200, "application/json", b'[1,"two"]'),
        ("None", 204, None, b""),
        ("Response('nope', status=404, headers={'X-A': 'b'})", 404, "text/plain; charset=utf-8", b"nope"),
        ("Response({'ok': True}, status=201)", 201, "application/json", b'{"ok":true}'),
    ],
)  # fmt: skip
def test_response_forms(run_py, ret: str, status: int, ctype: str | None, body: bytes) -> None:
    result = run_py(f"from peerhost import Response\n\ndef handler(request, ctx=None):\n    return {ret}\n")
    assert result.ok, result.logs
    assert (result.status, result.headers.get("content-type"), result.body) == (status, ctype, body)


def test_async_handler_and_single_argument(run_py) -> None:
    assert run_py("import asyncio\nasync def handler(request, ctx):\n    await asyncio.sleep(0)\n    return 'async'\n").body == b"async"
    assert run_py("def handler(request):\n    return 'one arg'\n").body == b"one arg"


def test_deterministic_context(run_py) -> None:
    source = """
        import os
        def handler(request, ctx=None):
            return {"id": ctx.request_id, "ts": ctx.timestamp, "now": ctx.now.isoformat(),
                    "random": [ctx.random.random() for _ in range(3)], "hash": hash("peerhost"),
                    "env": ctx.env, "seed": os.environ.get("PYTHONHASHSEED")}
    """
    first, second = run_py(source, env={"API_KEY": "k"}), run_py(source, env={"API_KEY": "k"})
    assert first.body == second.body, "same request, same result on every worker"
    data = json.loads(first.body)
    assert data["id"] == "req-1" and data["ts"] == 1_700_000_000
    assert data["now"] == "2023-11-14T22:13:20+00:00"
    assert data["env"] == {"API_KEY": "k"}


def test_exception_is_a_500_with_the_traceback_only_in_logs(run_py) -> None:
    result = run_py("""
        def helper():
            raise ValueError("secret internal detail")
        def handler(request, ctx=None):
            helper()
    """)
    assert result.error == "exception" and result.status == 500
    assert b"secret internal detail" not in result.body
    assert "Traceback" in result.logs and "ValueError: secret internal detail" in result.logs
    assert "line 3, in helper" in result.logs


def test_missing_handler_and_bad_response(run_py) -> None:
    assert run_py("def not_the_handler(r):\n    return 1\n").error == "no_handler"
    bad = run_py("def handler(r, ctx=None):\n    return {1, 2}\n")
    assert bad.error == "bad_response" and "not JSON-serializable" in bad.logs
    assert run_py("syntax error here").error == "exception"


def test_prints_go_to_logs(run_py) -> None:
    result = run_py("def handler(r, ctx=None):\n    print('to the log')\n    ctx.log('also')\n    return 'body'\n")
    assert result.body == b"body"
    assert "to the log" in result.logs and "also" in result.logs


def test_vendored_and_local_modules_import(run_py) -> None:
    result = run_py("import helper\nimport vendored_lib\n\ndef handler(r, ctx=None):\n    return helper.X + vendored_lib.Y\n",
                    files={"helper.py": b"X = 'local+'\n", "vendor/vendored_lib.py": b"Y = 'vendored'\n"})  # fmt: skip
    assert result.body == b"local+vendored", result.logs


def test_host_site_packages_are_not_importable(run_py) -> None:
    result = run_py("def handler(r, ctx=None):\n    import web3\n")
    assert result.error == "exception" and "ModuleNotFoundError" in result.logs


def test_warm_pool_never_reuses_a_sandbox() -> None:
    with SandboxRunner(warm={"python": 2}) as runner:
        assert runner.wait_ready(30)
        source = b"""
import os
STATE = []
def handler(request, ctx=None):
    STATE.append(1)
    seen = os.path.exists("/tmp/marker")
    open("/tmp/marker", "w").write("x")
    return {"calls": len(STATE), "marker_seen": seen}
"""
        results = [runner.run(Invocation("python", "functions/f.py", {"functions/f.py": source})) for _ in range(4)]
        assert all(json.loads(r.body) == {"calls": 1, "marker_seen": False} for r in results)
        assert any(r.stats["warm"] for r in results)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = b"hello from the allowed host"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_egress_through_the_proxy_is_allowed_listed_and_counted(run_py, http_server) -> None:
    port = http_server
    result = run_py(f"""
        import socket, urllib.request
        def handler(request, ctx=None):
            out = {{}}
            out["allowed"] = urllib.request.urlopen("http://localhost:{port}/x", timeout=5).read().decode()
            try:
                urllib.request.urlopen("http://example.com/", timeout=5)
                out["denied"] = "reached"
            except Exception as exc:
                out["denied"] = str(exc)
            s = socket.create_connection(("127.0.0.1", 3128), timeout=5)
            s.sendall(b"CONNECT localhost:{port} HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n")
            status = s.recv(1024).split(b"\\r\\n")[0].decode()
            s.sendall(b"GET /tunnel HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n")
            out["connect"] = status
            reply = b""
            while chunk := s.recv(65536):  # headers and body may arrive in separate segments
                reply += chunk
            out["tunnelled"] = reply.decode().split("\\r\\n\\r\\n", 1)[-1]
            return out
    """, network=(f"localhost:{port}",))
    assert result.ok, result.logs
    data = json.loads(result.body)
    assert data["allowed"] == "hello from the allowed host"
    assert "403" in data["denied"]
    assert data["connect"] == "HTTP/1.1 200 Connection established"
    assert data["tunnelled"] == "hello from the allowed host"
    calls = result.network_calls
    assert [(c["host"], c["allowed"]) for c in calls] == [("localhost", True), ("example.com", False), ("localhost", True)]
    assert calls[0]["bytes_received"] > 0
    assert result.stats["network_calls"] == 3


def test_no_network_without_declared_hosts(run_py, http_server) -> None:
    result = run_py(f"""
        import os, urllib.request
        def handler(request, ctx=None):
            try:
                urllib.request.urlopen("http://localhost:{http_server}/", timeout=2)
                return "reached"
            except Exception as exc:
                return type(exc).__name__ + ":" + str(os.environ.get("HTTP_PROXY"))
    """)
    assert result.body.startswith(b"URLError"), result.body
    assert result.network_calls == []


def test_allow_listed_names_resolving_to_private_addresses_are_refused(http_server) -> None:
    with SandboxRunner() as runner:  # the default: no SSRF into the worker's own network
        source = f"import urllib.request\ndef handler(r, ctx=None):\n    try:\n        urllib.request.urlopen('http://localhost:{http_server}/', timeout=5)\n        return 'reached'\n    except Exception as exc:\n        return str(exc)\n".encode()
        result = runner.run(Invocation("python", "functions/f.py", {"functions/f.py": source},
                                       network=(f"localhost:{http_server}",)))  # fmt: skip
    assert b"403" in result.body
    assert result.network_calls[0]["reason"] == "destination resolves to a private or loopback address"


# ------------------------------------------------------------------ JavaScript


def run_node(runner, files: dict[str, bytes], entry: str = "functions/f.mjs", **kw):
    return runner.run(Invocation("node", entry, files, kw.pop("request", HttpRequest()), "req-1", 1_700_000_000,
                                 kw.pop("env", {}), (), Limits(**kw)))  # fmt: skip


def test_node_function(runner) -> None:
    result = run_node(runner, {
        "functions/f.mjs": b"import { twice } from './lib.mjs';\n"
                           b"export default async function (request, ctx) {\n"
                           b"  console.log('log line');\n"
                           b"  return { n: twice(Number(request.query.n)), id: ctx.requestId, body: request.json(), env: ctx.env };\n}\n",
        "functions/lib.mjs": b"export const twice = (x) => 2 * x;\n",
    }, request=HttpRequest("POST", "/", (("n", "21"),), (), b'{"a":1}'), env={"K": "v"})  # fmt: skip
    assert result.ok, result.logs
    assert json.loads(result.body) == {"n": 42, "id": "req-1", "body": {"a": 1}, "env": {"K": "v"}}
    assert "log line" in result.logs


def test_node_errors_and_limits(runner) -> None:
    failing = run_node(runner, {"functions/f.mjs": b"export default async () => { throw new Error('boom'); };\n"})
    assert failing.error == "exception" and "Error: boom" in failing.logs and b"boom" not in failing.body
    looping = run_node(runner, {"functions/f.mjs": b"export default async () => { for (;;) {} };\n"}, timeout_ms=1000)
    assert looping.error == "timeout"
    hog = run_node(runner, {"functions/f.mjs": b"export default async () => { const a = []; for (;;) a.push(new Array(1e6).fill(1)); };\n"},
                   memory_mb=64)  # fmt: skip
    assert hog.error == "memory", hog.logs[-300:]
    assert run_node(runner, {"functions/f.mjs": b"export const x = 1;\n"}).error == "no_handler"
    text = run_node(runner, {"functions/f.mjs": b"export default async () => new Response('hi', {status: 202});\n"})
    assert (text.status, text.body) == (202, b"hi")
