"""Hostile function code, each case in the real bubblewrap sandbox: contained and reported."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import uuid

import pytest

from tests.sandbox.conftest import UID_BASE, UID_COUNT


def no_processes_of(uid_range=(UID_BASE, UID_BASE + UID_COUNT)) -> bool:
    """No process (zombies included) of any sandbox uid is left."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if uid_range[0] <= os.stat(f"/proc/{entry}").st_uid < uid_range[1]:
                    return False
            except FileNotFoundError:
                pass
    return True


def test_reading_a_host_secret_file(run_py, tmp_path) -> None:
    secret = f"host-secret-{uuid.uuid4()}"
    paths = [tmp_path / "secret.txt", "/root/.peerhost-test-secret"]
    for path in paths:
        with open(path, "w") as f:
            f.write(secret)
    try:
        result = run_py(f"""
            def handler(request, ctx=None):
                out = {{}}
                for path in {[str(p) for p in paths]!r} + ["/etc/shadow", "/etc/passwd", "/work"]:
                    try:
                        with open(path) as f:
                            out[path] = f.read()
                    except OSError as exc:
                        out[path] = type(exc).__name__
                return out
        """)
    finally:
        os.unlink("/root/.peerhost-test-secret")
    assert result.ok, result.logs
    assert secret.encode() not in result.body and secret not in result.logs
    assert b"FileNotFoundError" in result.body or b"IsADirectoryError" in result.body


def test_reading_the_workers_environment(run_py, monkeypatch) -> None:
    secret = f"env-secret-{uuid.uuid4()}"
    monkeypatch.setenv("PEERHOST_WORKER_SECRET", secret)
    result = run_py("""
        import os
        def handler(request, ctx=None):
            environ = dict(os.environ)
            try:
                environ["proc"] = open("/proc/self/environ").read()
            except OSError as exc:
                environ["proc"] = str(exc)
            return environ
    """, env={"DECLARED": "yes"})
    assert result.ok, result.logs
    assert secret.encode() not in result.body
    assert b'"DECLARED":"yes"' in result.body


def test_connecting_to_a_loopback_server_of_the_host(run_py) -> None:
    seen: list[object] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                seen.append(server.accept())
            except TimeoutError:
                pass

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        result = run_py(f"""
            import socket, urllib.request
            def handler(request, ctx=None):
                out = []
                for host in ("127.0.0.1", "localhost", "10.0.2.2", "8.8.8.8"):
                    try:
                        socket.create_connection((host, {port}), timeout=1)
                        out.append(host + ": connected")
                    except OSError as exc:
                        out.append(host + ": " + type(exc).__name__)
                return out
        """)
    finally:
        stop.set()
        thread.join()
        server.close()
    assert result.ok, result.logs
    assert b"connected" not in result.body
    assert seen == [], "the host-side listener must see no connection"


def test_fork_bomb(run_py, runner) -> None:
    result = run_py("""
        import os
        def handler(request, ctx=None):
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
    """, timeout_ms=2000, max_processes=16)
    assert result.error in ("timeout", "cpu_time"), (result.error, result.logs[-500:])
    runner.settle()
    assert no_processes_of(), "every process of the sandbox is gone, zombies included"


def test_memory_bomb(run_py) -> None:
    result = run_py("""
        def handler(request, ctx=None):
            hog = []
            while True:
                hog.append(bytearray(10 * 1024 * 1024))
    """, memory_mb=64)
    assert result.error == "memory", (result.error, result.logs[-500:])


def test_infinite_loop(run_py) -> None:
    started = time.monotonic()
    result = run_py("""
        def handler(request, ctx=None):
            while True:
                pass
    """, timeout_ms=1000)
    assert result.error == "timeout"
    assert time.monotonic() - started < 5


def test_cpu_time_limit(run_py) -> None:
    result = run_py("""
        import threading
        def spin():
            while True:
                pass
        def handler(request, ctx=None):
            for _ in range(2):
                threading.Thread(target=spin, daemon=True).start()
            spin()
    """, timeout_ms=5000, cpu_ms=1000)
    assert result.error == "cpu_time", (result.error, result.logs[-300:])


def test_disk_fill(run_py) -> None:
    big = run_py("""
        def handler(request, ctx=None):
            with open("/tmp/big", "wb") as f:
                while True:
                    f.write(b"x" * 1024 * 1024)
    """, max_file_size_mb=4)
    assert big.error == "file_too_large", big.logs[-300:]
    many = run_py("""
        def handler(request, ctx=None):
            for i in range(1000):
                with open(f"/tmp/f{i}", "wb") as f:
                    f.write(b"x" * 1024 * 1024)
    """, tmp_size_mb=8, max_file_size_mb=4)
    assert many.error == "disk_full", many.logs[-300:]


def test_a_gigabyte_of_output(run_py) -> None:
    logs = run_py("""
        import sys
        def handler(request, ctx=None):
            chunk = "x" * (1024 * 1024)
            for _ in range(1024):
                sys.stdout.write(chunk)
    """)
    assert logs.error == "output_too_large"
    assert len(logs.logs) <= 64 * 1024
    body = run_py("""
        def handler(request, ctx=None):
            return "x" * (7 * 1024 * 1024)
    """, memory_mb=256)
    assert body.error == "output_too_large" and body.body == b""


def test_signalling_host_processes(run_py) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        result = run_py(f"""
            import os, signal
            def handler(request, ctx=None):
                out = []
                for pid in ({sleeper.pid}, {os.getpid()}, 1):
                    try:
                        os.kill(pid, signal.SIGKILL)
                        out.append(f"{{pid}}: sent")
                    except OSError as exc:
                        out.append(f"{{pid}}: {{type(exc).__name__}}")
                return out
        """)
        assert sleeper.poll() is None, "the host's process must survive"
        # The kill of pid 1 ends the sandbox itself, or is refused: the host is unharmed either way.
        assert result.error in (None, "crashed")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_pid_namespace_and_proc_snooping(run_py) -> None:
    result = run_py(f"""
        import os
        def handler(request, ctx=None):
            pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
            environs = []
            for pid in pids:
                try:
                    environs.append(open(f"/proc/{{pid}}/environ", "rb").read().decode(errors="replace"))
                except OSError as exc:
                    environs.append(type(exc).__name__)
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open("/proc/1/ns/pid", os.O_RDONLY)
            escaped = "escaped" if libc.syscall(308, fd, 0) == 0 else os.strerror(ctypes.get_errno())  # setns
            return {{"pids": pids, "environs": environs, "escape": escaped, "hostname": os.uname().nodename}}
    """)
    assert result.ok, result.logs
    data = __import__("json").loads(result.body)
    assert len(data["pids"]) <= 4 and os.getpid() not in data["pids"]
    assert data["escape"] == "Operation not permitted"
    assert data["hostname"] == "sandbox"
    assert not any("PEERHOST" in e or "PATH=/root" in e for e in data["environs"])


def test_ptrace_and_other_denied_syscalls(run_py) -> None:
    result = run_py("""
        import ctypes, ctypes.util, os
        libc = ctypes.CDLL(None, use_errno=True)
        def call(nr, *args):
            ret = libc.syscall(nr, *args)
            return "ok" if ret >= 0 else os.strerror(ctypes.get_errno())
        def handler(request, ctx=None):
            return {
                "ptrace": call(101, 16, 1, 0, 0),   # PTRACE_ATTACH to pid 1
                "mount": call(165, b"none", b"/tmp", b"tmpfs", 0, 0),
                "unshare": call(272, 0x10000000),   # CLONE_NEWUSER
                "keyctl": call(250, 0, 0, 0, 0),
                "bpf": call(321, 0, 0, 0),
                "kexec_load": call(246, 0, 0, 0, 0),
                "getpid": call(39),
            }
    """)
    assert result.ok, result.logs
    data = __import__("json").loads(result.body)
    for name in ("ptrace", "mount", "unshare", "keyctl", "bpf", "kexec_load"):
        assert data[name] == "Operation not permitted", (name, data[name])
    assert data["getpid"] == "ok"


def test_writing_outside_tmpfs(run_py) -> None:
    result = run_py("""
        def handler(request, ctx=None):
            out = {}
            for path in ("/usr/evil", "/etc/evil", "/evil", "/bin/evil", "/proc/sys/kernel/hostname", "/tmp/ok"):
                try:
                    with open(path, "w") as f:
                        f.write("x")
                    out[path] = "written"
                except OSError as exc:
                    out[path] = type(exc).__name__
            return out
    """)
    assert result.ok, result.logs
    data = __import__("json").loads(result.body)
    assert data.pop("/tmp/ok") == "written"
    assert all(v != "written" for v in data.values()), data
    assert not os.path.exists("/usr/evil") and not os.path.exists("/evil")


def test_worker_survives_and_keeps_serving(run_py, runner) -> None:
    for source in ("import os\ndef handler(r, ctx=None):\n    os._exit(3)\n",
                   "import os, signal\ndef handler(r, ctx=None):\n    os.kill(os.getpid(), signal.SIGSEGV)\n"):
        assert run_py(source).error == "crashed"
    assert run_py("def handler(r, ctx=None):\n    return 'still here'\n").body == b"still here"
    runner.settle()
    assert no_processes_of()
