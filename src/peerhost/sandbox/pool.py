"""A warm pool: sandboxes started ahead of calls, each used for one invocation, refilled in the background."""

from __future__ import annotations

import collections
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from peerhost.sandbox.egress import EgressProxy
from peerhost.sandbox.errors import SandboxError
from peerhost.sandbox.limits import Limits
from peerhost.sandbox.runner import ExecutionResult, Invocation, Sandbox, SandboxConfig, _UidAllocator, become_subreaper


@dataclass(frozen=True)
class PoolKey:
    runtime: str
    limits: Limits | None  # node sandboxes are limited when they start; python ones when invoked


def key_for(inv: Invocation) -> PoolKey:
    return PoolKey(inv.runtime, None if inv.runtime == "python" else inv.limits)


class SandboxRunner:
    """Runs invocations in fresh sandboxes, from a warm pool when one is ready.

    `warm` maps a runtime to how many idle sandboxes to keep ready (node sandboxes are kept for
    the default limits; other limits start cold)."""

    def __init__(self, config: SandboxConfig | None = None, warm: dict[str, int] | None = None) -> None:
        self.config = config or SandboxConfig()
        become_subreaper()
        self.egress = EgressProxy()
        self._uids = _UidAllocator(self.config.uid_base, self.config.uid_count, self.config.state_dir / "uids")
        self._targets = {PoolKey(rt, None if rt == "python" else Limits()): n for rt, n in (warm or {}).items() if n > 0}
        self._idle: dict[PoolKey, collections.deque[Sandbox]] = collections.defaultdict(collections.deque)
        self._lock = threading.Condition()
        self._closing = False
        self.spawn_failures = 0
        self._teardown = ThreadPoolExecutor(max_workers=2, thread_name_prefix="peerhost-teardown")
        self._pending: set[Future] = set()
        self._filler = threading.Thread(target=self._fill, name="peerhost-warm-pool", daemon=True)
        if self._targets:
            self._filler.start()

    def new_sandbox(self, runtime: str, limits: Limits | None = None) -> Sandbox:
        return Sandbox(runtime, self.config, self._uids, self.egress, limits)

    def acquire(self, key: PoolKey) -> tuple[Sandbox, bool]:
        """A ready sandbox for `key`, and whether it came warm from the pool."""
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.popleft(), True  # refilled after the call: not while it runs
        return self.new_sandbox(key.runtime, key.limits), False

    def run(self, inv: Invocation) -> ExecutionResult:
        sandbox, warm = self.acquire(key_for(inv))
        try:
            result = sandbox.invoke(inv)
        finally:
            future = self._teardown.submit(sandbox.close)  # off the caller's critical path
            with self._lock:
                self._pending.add(future)
                self._lock.notify_all()  # the filler may start a replacement now
            future.add_done_callback(self._done)
        result.stats["warm"] = warm
        result.stats["sandbox_ready_ms"] = round(sandbox.ready_ms, 3)
        return result

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def settle(self, timeout: float = 30) -> None:
        """Waits until every finished sandbox has been torn down."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.result(timeout=timeout)

    def ready_count(self, runtime: str = "python") -> int:
        with self._lock:
            return sum(len(q) for k, q in self._idle.items() if k.runtime == runtime)

    def wait_ready(self, timeout: float = 30) -> bool:
        """Blocks until the pool is full (for benchmarks and tests)."""
        with self._lock:
            return self._lock.wait_for(
                lambda: all(len(self._idle[k]) >= n for k, n in self._targets.items()) or self._closing, timeout
            )

    def _fill(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(
                    lambda: self._closing or any(len(self._idle[k]) < n for k, n in self._targets.items())
                )
                if self._closing:
                    return
                key = next(k for k, n in self._targets.items() if len(self._idle[k]) < n)
            try:
                sandbox = self.new_sandbox(key.runtime, key.limits)
            except SandboxError:
                self.spawn_failures += 1
                with self._lock:
                    self._lock.wait(timeout=1)
                continue
            with self._lock:
                if self._closing:
                    sandbox.close()
                    return
                self._idle[key].append(sandbox)
                self._lock.notify_all()

    def close(self) -> None:
        with self._lock:
            self._closing = True
            self._lock.notify_all()
            idle = [s for q in self._idle.values() for s in q]
            self._idle.clear()
        for sandbox in idle:
            sandbox.close()
        self.settle()
        self._teardown.shutdown(wait=True)
        if self._filler.is_alive():
            self._filler.join(timeout=10)
        self.egress.shutdown()

    def __enter__(self) -> SandboxRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
