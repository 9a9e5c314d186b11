"""Runs every benchmark and writes bench/results.json (commit the latest run).

    python bench/run.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import gas  # noqa: E402
import network  # noqa: E402
import sandbox  # noqa: E402


def machine() -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout.strip()
    return {"cores": os.cpu_count(), "python": platform.python_version(), "commit": commit,
            "kernel": platform.release()}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    parser.add_argument("--out", default=str(HERE / "results.json"))
    args = parser.parse_args(argv)
    results: dict = {}
    results.update(network.measure(args.quick))
    results.update(sandbox.measure(30 if args.quick else 300))
    results["gas_per_request"] = gas.measure(32)
    results["machine"] = machine()
    text = json.dumps(results, indent=2)
    Path(args.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
