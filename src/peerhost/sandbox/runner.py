"""One bubblewrap sandbox per invocation.

A sandbox is started ahead of its call (warm): bubblewrap builds fresh namespaces (user, pid,
mount, ipc, uts, net, cgroup) around an interpreter that has loaded its runtime and waits for one
invocation on stdin. The invocation brings the function's files, request, context and limits; the
answer comes back on fd 3; the function's stdout and stderr are its log. Each sandbox runs as its
own unprivileged host uid, so per-user limits (processes) apply per sandbox and an escape lands
nowhere useful. Any limit ends the invocation with an error named after it.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import selectors
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peerhost.sandbox import seccomp
from peerhost.sandbox.egress import EgressListener, EgressProxy
from peerhost.sandbox.errors import SandboxError
from peerhost.sandbox.limits import Limits

HERE = Path(__file__).parent
RESULT_FD_ARG = "--result-fd"
EGRESS_PORT = 3128
WARM_RLIMITS = ("RLIMIT_DATA", "RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE")

# Errors an invocation can end with (the result's `error`):
TIMEOUT, CPU_TIME, MEMORY, OUTPUT_TOO_LARGE, FILE_TOO_LARGE = "timeout", "cpu_time", "memory", "output_too_large", "file_too_large"
EXCEPTION, NO_HANDLER, BAD_RESPONSE, CRASHED, DISK_FULL = "exception", "no_handler", "bad_response", "crashed", "disk_full"


@dataclass(frozen=True)
class SandboxConfig:
    """Machine-level settings of the sandboxes (the worker's, not the function's)."""

    python: str = "/usr/bin/python3"
    node: str = "/usr/bin/node"
    bwrap: str = "bwrap"
    setpriv: str = "/usr/bin/setpriv"
    uid_base: int = 200_000
    uid_count: int = 50_000
    state_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "peerhost-sandbox")
    allow_private_egress: bool = False  # tests only: let allow-listed names resolve to loopback
    spawn_timeout: float = 15.0


@dataclass(frozen=True)
class HttpRequest:
    method: str = "GET"
    path: str = "/"
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass(frozen=True)
class Invocation:
    """Everything one call needs: code, request, deterministic context, limits."""

    runtime: str  # "python" | "node"
    entry: str  # e.g. "functions/hello.py"
    files: dict[str, bytes]
    request: HttpRequest = HttpRequest()
    request_id: str = "0"
    timestamp: int = 0
    env: dict[str, str] = field(default_factory=dict)
    network: tuple[str, ...] = ()
    limits: Limits = Limits()


@dataclass
class ExecutionResult:
    status: int
    headers: dict[str, str]
    body: bytes
    error: str | None
    logs: str
    logs_truncated: bool
    stats: dict[str, Any]
    network_calls: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        """The function produced a response (of any status)."""
        return self.error is None


@functools.cache
def _bootstrap_template() -> str:
    api = (HERE / "runtime_api.py").read_text()
    return (HERE / "python_bootstrap.py").read_text().replace('RUNTIME_API = ""', f"RUNTIME_API = {api!r}", 1)


def _python_bootstrap(result_fd: int) -> str:
    return _bootstrap_template().replace("RESULT_FD = 3", f"RESULT_FD = {result_fd}", 1)


class _UidAllocator:
    """Host uids for sandboxes. A uid in use is locked (flock) in the shared state directory, so
    workers on one machine never share one, even with overlapping ranges: teardown kills every
    process of its uid."""

    def __init__(self, base: int, count: int, lock_dir: Path | None = None) -> None:
        self._free = list(range(base + count - 1, base - 1, -1))
        self._lock = threading.Lock()
        self.quarantined: list[int] = []
        self._lock_dir = lock_dir
        self._held: dict[int, int] = {}
        if lock_dir is not None:
            lock_dir.mkdir(parents=True, exist_ok=True)

    def take(self) -> int:
        with self._lock:
            skipped = []
            try:
                while self._free:
                    uid = self._free.pop()
                    if self._lock_uid(uid):
                        return uid
                    skipped.append(uid)  # another process's sandbox uses it right now
                raise SandboxError("no free sandbox uid: too many sandboxes at once")
            finally:
                self._free[:0] = skipped

    def _lock_uid(self, uid: int) -> bool:
        if self._lock_dir is None:
            return True
        import fcntl

        fd = os.open(self._lock_dir / f"uid-{uid}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._held[uid] = fd
        return True

    def give(self, uid: int) -> None:
        with self._lock:
            fd = self._held.pop(uid, None)
            if fd is not None:
                os.close(fd)  # releases the lock
            self._free.insert(0, uid)  # reuse last: a just-freed uid rests the longest

    def quarantine(self, uid: int) -> None:
        """A uid whose processes would not go away is never handed out again (its lock stays held)."""
        with self._lock:
            self.quarantined.append(uid)


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Orphans of our sandboxes (bubblewrap's namespace init) become our children, so that we reap
    them: bubblewrap's outer process exits without waiting for it, and a container's pid 1 may
    never reap."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SandboxError(f"cannot become a child subreaper: {os.strerror(ctypes.get_errno())}")


def _pids_of(uid: int) -> Iterator[int]:
    """The pids of every process (zombies included) owned by host `uid`."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    yield int(entry)
            except FileNotFoundError:
                pass


def _reap_uid(uid: int) -> int:
    """Reaps our zombie children of `uid`; returns how many processes of `uid` are still around."""
    left = 0
    me = os.getpid()
    for pid in _pids_of(uid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] == "Z" and int(fields[1]) == me:
            try:
                os.waitpid(pid, os.WNOHANG)
                continue
            except ChildProcessError:
                pass
        left += 1
    return left


def _kill_uid(uid: int, spare: int | None = None) -> int:
    """SIGKILLs every process of `uid` but `spare`; returns how many were signalled."""
    killed = 0
    for pid in _pids_of(uid):
        if pid == spare:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except (ProcessLookupError, PermissionError):
            pass
    return killed


class Sandbox:
    """A started sandbox, good for exactly one invocation."""

    def __init__(self, runtime: str, config: SandboxConfig, uids: _UidAllocator, egress: EgressProxy,
                 limits: Limits | None = None) -> None:  # fmt: skip
        if runtime not in ("python", "node"):
            raise SandboxError(f"unknown runtime {runtime!r}")
        self.runtime = runtime
        self.config = config
        self._uids = uids
        self._egress = egress
        self.spawn_limits = limits  # node applies limits at spawn; python when invoked
        self.uid = uids.take()
        self.dir = Path(tempfile.mkdtemp(prefix=f"sb-{self.uid}-", dir=self._state_dir()))
        os.chown(self.dir, self.uid, self.uid)
        self._listener: EgressListener | None = None
        self._used = False
        self._closed = False
        self.started_at = time.perf_counter()
        try:
            self._spawn()
        except BaseException:
            self.close()
            raise

    def _state_dir(self) -> Path:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.config.state_dir, 0o711)
        return self.config.state_dir

    # ------------------------------------------------------------- spawning

    def _command(self, seccomp_fd: int, result_fd: int, info_fd: int) -> list[str]:
        cmd = [
            self.config.bwrap, "--info-fd", str(info_fd),
            "--unshare-all", "--unshare-user", "--disable-userns",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", "1000", "--gid", "1000", "--hostname", "sandbox",
            "--ro-bind", "/usr", "/usr",
            "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
            "--proc", "/proc", "--dev", "/dev",
            "--dir", "/etc",
        ]  # fmt: skip
        for path in ("/etc/ld.so.cache", "/etc/ssl", "/etc/ca-certificates", "/etc/localtime", "/etc/nsswitch.conf"):
            if os.path.exists(path):
                cmd += ["--ro-bind", path, path]
        cmd += ["--size", str(64 * 1024 * 1024), "--tmpfs", "/app",
                "--size", str((self.spawn_limits or Limits()).tmp_size_mb * 1024 * 1024), "--tmpfs", "/tmp",
                "--bind", str(self.dir), "/run/peerhost",
                "--clearenv", "--setenv", "PYTHONHASHSEED", "0", "--setenv", "PATH", "/usr/bin:/bin",
                "--setenv", "LANG", "C.UTF-8", "--setenv", "HOME", "/tmp",
                "--remount-ro", "/", "--chdir", "/tmp", "--seccomp", str(seccomp_fd)]  # fmt: skip
        if self.runtime == "python":
            cmd += [self.config.python, "-S", "-s", "-B", "-c", _python_bootstrap(result_fd)]
        else:
            limits = self.spawn_limits or Limits()
            boot = (HERE / "node_bootstrap.mjs").read_text()
            cmd += ["/usr/bin/prlimit", f"--data={limits.memory_mb * 1024 * 1024 + 64 * 1024 * 1024}",
                    f"--nproc={limits.max_processes + 8}", f"--fsize={limits.max_file_size_mb * 1024 * 1024}",
                    f"--nofile={limits.max_open_files}", f"--cpu={limits.cpu_seconds + 2}", "--core=0", "--",
                    self.config.node, f"--max-old-space-size={limits.memory_mb}", "--disallow-code-generation-from-strings",
                    "--input-type=module", "-e", boot, "--", RESULT_FD_ARG, str(result_fd)]  # fmt: skip
        return cmd

    def _spawn(self) -> None:
        if shutil.which(self.config.bwrap) is None:
            raise SandboxError("bubblewrap (bwrap) is not installed: run `make install` or `apt-get install bubblewrap`")
        if not os.access(self.config.setpriv, os.X_OK):
            raise SandboxError(f"{self.config.setpriv} (util-linux) is missing: it starts sandboxes as their own uid")
        bpf = seccomp.build_filter()
        seccomp_fd = os.memfd_create("peerhost-seccomp", 0)
        os.write(seccomp_fd, bpf)
        os.lseek(seccomp_fd, 0, os.SEEK_SET)
        self._result_r, result_w = os.pipe()
        info_r, info_w = os.pipe()
        # The uid switch is done by setpriv rather than Popen(user=...): CPython cannot vfork when it
        # changes ids itself, and forking a big worker process costs ~4 ms of CPU per sandbox.
        as_sandbox_user = [self.config.setpriv, f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--"]
        try:
            self.proc = subprocess.Popen(
                as_sandbox_user + self._command(seccomp_fd, result_w, info_w),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                pass_fds=(seccomp_fd, result_w, info_w), start_new_session=True,
                # bubblewrap's own processes keep the environment they were started with, and the
                # namespace's init is visible in the sandbox's /proc: never hand them the worker's.
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            )  # fmt: skip
        finally:
            os.close(seccomp_fd)
            os.close(result_w)
            os.close(info_w)
        # bubblewrap reports the host pid of the namespace's init: killing it ends every process of
        # the sandbox, and reaping it (we are the subreaper) leaves nothing behind.
        with os.fdopen(info_r, "rb") as info:
            try:
                self.init_pid: int | None = int(json.loads(info.read() or b"{}").get("child-pid", 0)) or None
            except ValueError:
                self.init_pid = None
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._result_r, selectors.EVENT_READ, "result")
        assert self.proc.stdout is not None
        self._selector.register(self.proc.stdout.fileno(), selectors.EVENT_READ, "log")
        self._result_buf = bytearray()
        self._log = bytearray()
        self._log_total = 0
        ready = self._read_message(time.monotonic() + self.config.spawn_timeout, Limits())
        if not isinstance(ready, dict) or not ready.get("ready"):
            log = self._log.decode("utf-8", "replace").strip()
            raise SandboxError(f"the {self.runtime} sandbox did not start: {log or ready}")
        self.ready_ms = (time.perf_counter() - self.started_at) * 1000

    # ------------------------------------------------------------- protocol

    def _read_message(self, deadline: float, limits: Limits) -> dict | str:
        """The next framed message on the result pipe, or an error name."""
        while True:
            if len(self._result_buf) >= 4:
                (length,) = struct.unpack(">I", self._result_buf[:4])
                if length > limits.max_response_bytes * 4 // 3 + 65536:
                    return OUTPUT_TOO_LARGE
                if len(self._result_buf) >= 4 + length:
                    data = bytes(self._result_buf[4 : 4 + length])
                    del self._result_buf[: 4 + length]
                    try:
                        return json.loads(data)
                    except ValueError:
                        return CRASHED
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return TIMEOUT
            events = self._selector.select(timeout=remaining)
            for key, _ in events:
                try:
                    chunk = os.read(key.fd, 65536)
                except OSError:
                    chunk = b""
                if key.data == "result":
                    if not chunk:
                        self._selector.unregister(key.fd)
                        return self._exit_reason()
                    self._result_buf += chunk
                else:
                    if not chunk:
                        self._selector.unregister(key.fd)
                        continue
                    self._keep_log(chunk, limits)
                    if self._log_total > limits.max_log_bytes:
                        return OUTPUT_TOO_LARGE

    def _drain_log(self, limits: Limits) -> None:
        """Reads log output already written when the answer came (without waiting for more)."""
        for key, _ in self._selector.select(timeout=0):
            if key.data != "log":
                continue
            try:
                chunk = os.read(key.fd, 1 << 20)
            except OSError:
                continue
            self._keep_log(chunk, limits)

    def _keep_log(self, chunk: bytes, limits: Limits) -> None:
        """Counts log output; keeps its first `kept_log_bytes` for the result."""
        self._log_total += len(chunk)
        if len(self._log) < limits.kept_log_bytes:
            self._log += chunk[: limits.kept_log_bytes - len(self._log)]

    def _exit_reason(self) -> str:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return CRASHED
        # bwrap reports the sandboxed process's death by signal as 128 + signal
        signum = -code if code < 0 else code - 128 if code > 128 else 0
        log = self._log.decode("utf-8", "replace")
        if signum == signal.SIGXCPU:
            return CPU_TIME
        if signum == signal.SIGXFSZ:
            return FILE_TOO_LARGE
        if "heap out of memory" in log or "MemoryError" in log or "Cannot allocate memory" in log:
            return MEMORY
        return CRASHED

    # ------------------------------------------------------------- invoking

    def invoke(self, inv: Invocation) -> ExecutionResult:
        """Runs the invocation. Call `close()` afterwards (a limit hit closes it at once)."""
        if self._used:
            raise SandboxError("a sandbox runs exactly one invocation")
        self._used = True
        if inv.runtime != self.runtime:
            raise SandboxError(f"a {self.runtime} sandbox cannot run a {inv.runtime} function")
        started = time.perf_counter()
        limits = inv.limits
        deadline = time.monotonic() + limits.timeout_ms / 1000
        try:
            if inv.network:
                self._listener = self._egress.open(self.dir / "egress.sock", self.uid, inv.network,
                                                   self.config.allow_private_egress)  # fmt: skip
            message = self._message(inv)
            assert self.proc.stdin is not None
            writer_error: list[BaseException] = []

            def write() -> None:
                try:
                    self.proc.stdin.write(struct.pack(">I", len(message)) + message)  # type: ignore[union-attr]
                    self.proc.stdin.close()  # type: ignore[union-attr]
                except (BrokenPipeError, OSError) as exc:
                    writer_error.append(exc)

            if len(message) < 60_000:
                write()
            else:
                threading.Thread(target=write, daemon=True).start()
            outcome = self._read_message(deadline, limits)
        except BaseException:
            self.close()
            raise
        wall_ms = (time.perf_counter() - started) * 1000
        if isinstance(outcome, str):  # stop a sandbox that hit a limit before anything else happens
            self.close()
        else:
            self._drain_log(limits)
        calls = [call.to_json() for call in self._listener.calls] if self._listener else []
        logs = self._log.decode("utf-8", "replace")
        truncated = self._log_total > len(self._log)
        stats: dict[str, Any] = {"wall_ms": round(wall_ms, 3), "network_calls": len(calls)}
        if isinstance(outcome, str):
            return ExecutionResult(500, {}, b"", outcome, logs, truncated, stats, calls)
        if "error" in outcome:
            return ExecutionResult(500, {}, b"", str(outcome["error"]), logs, truncated, stats, calls)
        body = base64.b64decode(outcome.get("body", ""))
        if len(body) > limits.max_response_bytes:
            return ExecutionResult(500, {}, b"", OUTPUT_TOO_LARGE, logs, truncated, stats, calls)
        stats.update(outcome.get("stats", {}))
        return ExecutionResult(int(outcome["status"]), dict(outcome.get("headers", {})), body, None, logs, truncated,
                               stats, calls)  # fmt: skip

    def _message(self, inv: Invocation) -> bytes:
        limits = inv.limits
        mib = 1024 * 1024
        rlimits = {
            "RLIMIT_DATA": limits.memory_mb * mib,
            "RLIMIT_CPU": limits.cpu_seconds,
            "RLIMIT_NPROC": limits.max_processes,
            "RLIMIT_FSIZE": limits.max_file_size_mb * mib,
            "RLIMIT_NOFILE": limits.max_open_files,
            "RLIMIT_CORE": 0,
        }
        req = inv.request
        return json.dumps({
            "entry": inv.entry,
            "files": {path: base64.b64encode(data).decode() for path, data in inv.files.items()},
            "rlimits": rlimits,
            "env": inv.env,
            "egress_port": EGRESS_PORT if inv.network else 0,
            "request": {"method": req.method, "path": req.path, "query": [list(q) for q in req.query],
                        "headers": dict(req.headers), "body": base64.b64encode(req.body).decode()},
            "ctx": {"request_id": inv.request_id, "timestamp": inv.timestamp},
        }, separators=(",", ":")).encode()  # fmt: skip

    # ------------------------------------------------------------- teardown

    def close(self) -> None:
        """Destroys the sandbox: every process of its uid is gone before the uid is reused.

        The outer bubblewrap process (our child) is spared until its own child, the namespace's
        init, has died and been reaped by it: killing bubblewrap first would leave that init as a
        zombie under the machine's pid 1."""
        if self._closed:
            return
        self._closed = True
        proc = getattr(self, "proc", None)
        init_pid = getattr(self, "init_pid", None)
        if proc is not None:
            try:
                proc.wait(timeout=0.05)  # the runtime exits right after answering
            except subprocess.TimeoutExpired:
                if init_pid is not None:
                    try:
                        os.kill(init_pid, signal.SIGKILL)  # takes the whole pid namespace down
                    except ProcessLookupError:
                        pass
                try:
                    proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    _kill_uid(self.uid, spare=proc.pid)
                    proc.kill()
                    proc.wait()
            for stream in (proc.stdin, proc.stdout):
                try:
                    if stream:
                        stream.close()
                except OSError:
                    pass
        if init_pid is not None:
            try:  # bubblewrap left without waiting for its child: it is ours to reap
                os.waitpid(init_pid, 0)
            except ChildProcessError:
                pass
        if init_pid is None or any(_pids_of(self.uid)):
            for _ in range(200):  # stragglers: only when the fast path above did not account for everything
                _kill_uid(self.uid)
                if not _reap_uid(self.uid):
                    break
                time.sleep(0.005)
            else:
                if self._listener is not None:
                    self._egress.close(self._listener)
                shutil.rmtree(self.dir, ignore_errors=True)
                self._uids.quarantine(self.uid)
                return
        if hasattr(self, "_selector"):
            self._selector.close()
        if hasattr(self, "_result_r"):
            try:
                os.close(self._result_r)
            except OSError:
                pass
        self._release()

    def _release(self) -> None:
        if self._listener is not None:
            self._egress.close(self._listener)
        shutil.rmtree(self.dir, ignore_errors=True)
        self._uids.give(self.uid)
