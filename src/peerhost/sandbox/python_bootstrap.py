# PeerHost sandbox bootstrap for Python functions. Runs inside bubblewrap as `python3 -S -s -B -c`.
# Protocol: the host writes one length-prefixed JSON invocation on stdin; this program answers on
# fd 3 with length-prefixed JSON messages: {"ready": true} once warm, then the result. Everything
# the function prints goes to stderr, which the host keeps as the invocation's log.
# Only what every call needs is imported while warming up; asyncio (async handlers), traceback
# (errors) and socket/threading (egress) load on demand: importing asyncio alone costs ~30 ms of
# CPU per sandbox, and every invocation gets a fresh sandbox.
import base64
import importlib
import json
import os
import resource
import struct
import sys
import time

RESULT_FD = 3
RUNTIME_API = ""  # the source of peerhost/sandbox/runtime_api.py, filled in when the sandbox starts
_reserve = bytearray(1024 * 1024)  # released on MemoryError so that the error can still be reported


def send(message):
    for stream in (sys.stdout, sys.stderr):  # the log is complete before the answer
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    data = json.dumps(message, separators=(",", ":")).encode()
    os.write(RESULT_FD, struct.pack(">I", len(data)) + data)


def read_exact(n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(0, n - len(buf))
        if not chunk:
            raise EOFError("host closed stdin")
        buf += chunk
    return bytes(buf)


def receive():
    (length,) = struct.unpack(">I", read_exact(4))
    return json.loads(read_exact(length))


def start_egress_forwarder(socket_path, port):
    """127.0.0.1:port inside the sandbox -> the host's egress proxy on a Unix socket."""
    import socket
    import threading

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)

    def pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def serve():
        while True:
            client, _ = listener.accept()
            upstream = socket.socket(socket.AF_UNIX)
            try:
                upstream.connect(socket_path)
            except OSError:
                client.close()
                continue
            threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()


def usage():
    self_ = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = self_.ru_utime + self_.ru_stime + children.ru_utime + children.ru_stime
    return {"cpu_ms": round(cpu * 1000, 3), "peak_memory_kb": max(self_.ru_maxrss, children.ru_maxrss)}


def load_runtime_api():
    """`import peerhost` inside the sandbox: the function API, loaded while warming up."""
    import types

    module = types.ModuleType("peerhost")
    module.__file__ = "<peerhost runtime>"
    sys.modules["peerhost"] = module
    exec(compile(RUNTIME_API, "peerhost/__init__.py", "exec"), module.__dict__)
    return module


def main():
    peerhost = load_runtime_api()
    send({"ready": True})
    inv = receive()
    started = time.perf_counter()
    for name, value in inv.get("rlimits", {}).items():
        if name == "RLIMIT_CPU":  # counts from process start: add what warming up used
            spent = resource.getrusage(resource.RUSAGE_SELF)
            value += int(spent.ru_utime + spent.ru_stime) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (value, value + 1))  # SIGXCPU first, SIGKILL a second later
            continue
        elif name == "RLIMIT_NPROC":  # bubblewrap's two processes and this one are the same user
            value += 3
        resource.setrlimit(getattr(resource, name), (value, value))

    for rel, b64 in inv["files"].items():
        path = os.path.join("/app", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(b64))
    sys.path[:] = ["/app/functions", "/app", "/app/vendor"] + [p for p in sys.path if p.startswith("/usr/lib/python3")]

    os.environ.clear()
    os.environ.update(inv.get("env", {}))
    os.environ.setdefault("HOME", "/tmp")
    if inv.get("egress_port"):
        start_egress_forwarder("/run/peerhost/egress.sock", inv["egress_port"])
        proxy = f"http://127.0.0.1:{inv['egress_port']}"
        for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            os.environ[key] = proxy
    os.chdir("/tmp")

    entry = inv["entry"]
    module_name = entry.removeprefix("functions/").removesuffix(".py").replace("/", ".")

    req = inv["request"]
    request = peerhost.Request(req["method"], req["path"], req.get("query", []), req.get("headers", {}),
                               base64.b64decode(req.get("body", "")))
    ctx = peerhost.Context(inv["ctx"]["request_id"], inv["ctx"]["timestamp"], inv.get("env", {}))
    try:
        module = importlib.import_module(module_name)
        handler = getattr(module, "handler", None)
        if not callable(handler):
            print(f"{entry} defines no handler(request, ctx=None) function", file=sys.stderr)
            send({"error": "no_handler"})
            return
        result = handler(*((request, ctx) if _arity(handler) >= 2 else (request,)))
        if hasattr(result, "__await__"):
            import asyncio

            result = asyncio.run(_await(result))
        status, headers, body = peerhost.to_http(result)
    except MemoryError:
        global _reserve
        _reserve = None
        print("MemoryError: the function exceeded its memory limit", file=sys.stderr)
        send({"error": "memory"})
        return
    except OSError as exc:
        _print_exc()
        code = {27: "file_too_large", 28: "disk_full"}.get(exc.errno, "exception")  # EFBIG, ENOSPC
        send({"error": code})
        return
    except RecursionError:
        _print_exc()
        send({"error": "exception"})
        return
    except TypeError as exc:
        if "not JSON-serializable" in str(exc):
            print(f"bad response: {exc}", file=sys.stderr)
            send({"error": "bad_response"})
            return
        _print_exc()
        send({"error": "exception"})
        return
    except BaseException:  # noqa: BLE001 - any failure of user code is reported, not raised
        _print_exc()
        send({"error": "exception"})
        return
    sys.stderr.flush()
    stats = usage()
    stats["handler_ms"] = round((time.perf_counter() - started) * 1000, 3)
    send({"status": status, "headers": headers, "body": base64.b64encode(body).decode(), "stats": stats})


async def _await(awaitable):
    return await awaitable


def _arity(fn):
    """How many positional parameters `fn` takes (2 when it accepts *args)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        call = getattr(type(fn), "__call__", None)
        code = getattr(call, "__code__", None)
        if code is None:
            return 2
        return (2 if code.co_flags & 0x04 else code.co_argcount - 1)
    return 2 if code.co_flags & 0x04 else code.co_argcount


def _print_exc():
    import traceback

    traceback.print_exc()


try:
    main()
except EOFError:
    pass
finally:
    sys.stderr.flush()
    os._exit(0)
