"""Sandbox overhead: a trivial Python function, warm and cold, beside the floors of the same run.

Floors: `bwrap <the same namespaces> /bin/true` (what a fresh sandbox costs the kernel), and an
in-process call of the handler (what the function itself costs). Warm calls take a sandbox the
pool prepared ahead (teardown happens after the answer, off the caller's path); cold calls start
one first.

    python bench/sandbox.py [--n 200] [--out FILE]     # prints JSON
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from peerhost.sandbox.pool import SandboxRunner
from peerhost.sandbox.runner import HttpRequest, Invocation
from peerhost.sandbox.runtime_api import Request, to_http

SOURCE = b"def handler(request, ctx=None):\n    return {'ok': True, 'name': request.query.get('name', 'x')}\n"
REQUEST = HttpRequest("GET", "/", (("name", "bench"),))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(values), 3), "p99": pct(values, 0.99), "n": len(values)}


def in_process(n: int) -> list[float]:
    namespace: dict = {}
    exec(compile(SOURCE, "f.py", "exec"), namespace)
    handler = namespace["handler"]
    out = []
    for _ in range(n):
        t = time.perf_counter()
        to_http(handler(Request("GET", "/", [("name", "bench")])))
        out.append((time.perf_counter() - t) * 1000)
    return out


def bwrap_true(n: int) -> list[float]:
    cmd = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
           "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
           "--symlink", "usr/bin", "/bin", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true"]  # fmt: skip
    out = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, user=200_999, group=200_999)
        out.append((time.perf_counter() - t) * 1000)
    return out


def sandboxed(runner: SandboxRunner, n: int, warm: bool) -> list[float]:
    inv = Invocation("python", "functions/f.py", {"functions/f.py": SOURCE}, REQUEST, "bench", 1_700_000_000)
    out = []
    for _ in range(n):
        if warm:
            runner.wait_ready(30)
        runner.settle()
        t = time.perf_counter()
        result = runner.run(inv)
        out.append((time.perf_counter() - t) * 1000)
        assert result.ok and result.stats["warm"] is warm, (result.error, result.logs)
    return out


def measure(n: int) -> dict:
    floor_in_process = in_process(max(n, 1000))
    floor_bwrap = bwrap_true(max(20, n // 4))
    with SandboxRunner(warm={"python": 2}) as runner:
        runner.wait_ready(30)
        sandboxed(runner, 5, warm=True)  # warm-up of the host side
        warm = sandboxed(runner, n, warm=True)
    with SandboxRunner() as runner:
        cold = sandboxed(runner, max(20, n // 4), warm=False)
    return {
        "sandbox_overhead_ms": {
            "warm": summary(warm),
            "cold": summary(cold),
            "floor": {"bwrap_true_p50": round(statistics.median(floor_bwrap), 3),
                      "in_process_p50": round(statistics.median(floor_in_process), 4)},
            "target": {"warm_p50": 5.0},
        }
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    text = json.dumps(measure(args.n), indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
