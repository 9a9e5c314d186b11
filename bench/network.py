"""End-to-end figures on a real devnet (3 worker processes): latency, throughput, paid calls.

- e2e_latency_ms: sequential calls to examples/hello through the gateway (automine, `fastest`);
  floor_p50 = one anvil transaction round trip + one in-process call of the handler, same run.
- e2e_latency_block2s_ms: the same on a chain with 2-second blocks.
- throughput_rps: successful calls per second with 32 concurrent callers for 30 s.
- paid_call_latency_ms: an x402-paid call (402, sign, verify, execute, settle) with the SDK client.

    python bench/network.py [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from web3 import Web3

from peerhost.chain.anvil import free_port
from peerhost.chain.keys import ANVIL_KEYS, account_from_key
from peerhost.chain.tx import send_transaction
from peerhost.devnet.network import Devnet, DevnetConfig

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def start(block_time: float, root: Path) -> Devnet:
    devnet = Devnet(DevnetConfig(workers=3, port=free_port(), chain_port=free_port(), block_time=block_time,
                                 state_dir=root / f"net-{block_time}"))  # fmt: skip
    devnet.start()
    return devnet


def hello_url(devnet: Devnet) -> str:
    return next(f["url"] for f in devnet.functions if f["name"] == "hello")


def sequential(url: str, n: int) -> list[float]:
    out = []
    with httpx.Client(timeout=60) as client:
        for i in range(n + 5):
            t = time.perf_counter()
            r = client.get(url, params={"name": f"b{i}"})
            elapsed = (time.perf_counter() - t) * 1000
            assert r.status_code == 200, r.text
            if i >= 5:  # the first calls fetch and cache the bundle
                out.append(elapsed)
    return out


def _mined(w3: Web3, tx_hash) -> bool:
    try:
        return w3.eth.get_transaction_receipt(tx_hash) is not None
    except Exception:  # noqa: BLE001 - "not found" until mined
        return False


def floor(devnet: Devnet, n: int) -> float:
    w3 = Web3(Web3.HTTPProvider(devnet.anvil.rpc_url))
    account = account_from_key(ANVIL_KEYS[7])
    send_transaction(w3, account, {"to": account.address, "value": 0, "gas": 21_000}, what="floor warm-up")
    nonce = w3.eth.get_transaction_count(account.address)
    gas_price = w3.eth.gas_price * 2
    rtt = []
    for i in range(n):  # one transaction's round trip: send, then poll for the receipt every millisecond
        raw = account.sign_transaction({"to": account.address, "value": 0, "gas": 21_000, "nonce": nonce + i,
                                        "gasPrice": gas_price, "chainId": 31337}).raw_transaction  # fmt: skip
        t = time.perf_counter()
        tx_hash = w3.eth.send_raw_transaction(raw)
        while not _mined(w3, tx_hash):
            time.sleep(0.001)
        rtt.append((time.perf_counter() - t) * 1000)
    sys.path.insert(0, str(EXAMPLES / "hello"))
    sys.path.insert(0, str(EXAMPLES / "hello" / "functions"))
    from hello import handler  # type: ignore[import-not-found]

    from peerhost.sandbox.runtime_api import Request, to_http

    calls = []
    for _ in range(1000):
        t = time.perf_counter()
        to_http(handler(Request("GET", "/", [("name", "x")])))
        calls.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(rtt) + statistics.median(calls), 2)


async def throughput(url: str, seconds: float, concurrency: int) -> dict:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds

    async def caller(client: httpx.AsyncClient, k: int) -> None:
        nonlocal errors
        i = 0
        while time.monotonic() < stop:
            t = time.perf_counter()
            try:
                r = await client.get(url, params={"name": f"t{k}-{i}"})
                if r.status_code == 200:
                    latencies.append((time.perf_counter() - t) * 1000)
                else:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            i += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.monotonic()
        await asyncio.gather(*(caller(client, k) for k in range(concurrency)))
        elapsed = time.monotonic() - started
    return {"value": round(len(latencies) / elapsed, 1), "errors": errors, "p99_ms": pct(latencies, 0.99) if latencies else None,
            "p50_ms": pct(latencies, 0.5) if latencies else None, "concurrency": concurrency, "seconds": round(elapsed, 1)}  # fmt: skip


def paid_calls(devnet: Devnet, n: int) -> list[float]:
    from x402 import x402Client
    from x402.http.clients import x402HttpxClient
    from x402.mechanisms.evm.exact import ExactEvmClientScheme

    url = next(f["url"] for f in devnet.functions if f["name"] == "echo")
    client = x402Client()
    client.register("eip155:31337", ExactEvmClientScheme(account_from_key(ANVIL_KEYS[6])))
    client.set_spend_controls(False)

    async def run() -> list[float]:
        out = []
        async with x402HttpxClient(client, timeout=60) as http:
            for i in range(n + 2):
                t = time.perf_counter()
                r = await http.post(url, json={"i": i})
                assert r.status_code == 200 and "payment-response" in r.headers, r.text
                if i >= 2:
                    out.append((time.perf_counter() - t) * 1000)
        return out

    return asyncio.run(run())


def measure(quick: bool = False) -> dict:
    n = 30 if quick else 200
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        devnet = start(0, root)
        try:
            url = hello_url(devnet)
            latency = sequential(url, n)
            results["e2e_latency_ms"] = {"p50": pct(latency, 0.5), "p99": pct(latency, 0.99), "n": len(latency),
                                         "floor_p50": floor(devnet, 50)}  # fmt: skip
            results["throughput_rps"] = asyncio.run(throughput(url, 5 if quick else 30, 32))
            paid = paid_calls(devnet, 10 if quick else 30)
            results["paid_call_latency_ms"] = {"p50": pct(paid, 0.5), "p99": pct(paid, 0.99), "n": len(paid)}
        finally:
            devnet.stop()
        devnet = start(2, root)
        try:
            latency = sequential(hello_url(devnet), 10 if quick else 40)
            results["e2e_latency_block2s_ms"] = {"p50": pct(latency, 0.5), "p99": pct(latency, 0.99), "n": len(latency)}
        finally:
            devnet.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    text = json.dumps(measure(args.quick), indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
