"""Gas of one request's whole lifecycle, from real transaction receipts on anvil.

Every transaction a request needs is counted with its 21k intrinsic cost: the request, every
commit and reveal (or the redundancy-1 `submit`), and finalize; batched variants are divided by
the batch size. State is warmed by one untimed lifecycle first, so the figures are the steady
state of a running network (workers already have owed balances, the gateway a deposit).

    python bench/gas.py [--batch 32] [--out FILE]     # prints JSON
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from web3 import Web3

from peerhost.chain.anvil import Anvil
from peerhost.chain.artifacts import load_artifact
from peerhost.chain.deploy import CoordinatorSettings, deploy_contracts
from peerhost.chain.keys import ANVIL_KEYS, account_from_key
from peerhost.chain.tx import send_transaction


class Network:
    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.admin = account_from_key(ANVIL_KEYS[0])
        self.workers = [account_from_key(k) for k in ANVIL_KEYS[1:4]]
        self.builder = account_from_key(ANVIL_KEYS[4])
        self.gateway = account_from_key(ANVIL_KEYS[5])
        deployment = deploy_contracts(w3, self.admin, CoordinatorSettings(free_quota_per_period=0), with_usdc=False)
        self.coord = w3.eth.contract(
            address=deployment.coordinator.address, abi=load_artifact("ExecutionCoordinator").abi
        )
        self.by_address = {a.address: a for a in [*self.workers, self.builder, self.gateway]}

    def tx(self, account, call, value: int = 0) -> int:
        data = call.build_transaction({"from": account.address, "nonce": 0, "gas": 10_000_000, "gasPrice": 1})
        receipt = send_transaction(self.w3, account, {"to": self.coord.address, "data": data["data"], "value": value},
                                   what=call.fn_name)
        return int(receipt["gasUsed"])

    def setup(self) -> tuple[bytes, bytes]:
        f = self.coord.functions
        for w in self.workers:
            self.tx(w, f.registerWorker(b"\x02" * 33), value=Web3.to_wei(1, "ether"))
        self.tx(self.gateway, f.deposit(), value=Web3.to_wei(100, "ether"))
        ids = []
        for name, redundancy in (("one", 1), ("three", 3)):
            cid = bytes.fromhex("01551220") + Web3.keccak(text=name)
            config = (0, self.builder.address, 5000, 128, redundancy, 0 if redundancy == 1 else 1)
            self.tx(self.builder, f.deployFunction("bench", name, cid, config))
            ids.append(f.functionIdOf(self.builder.address, "bench", name).call())
        return ids[0], ids[1]

    def next_id(self) -> int:
        return self.coord.functions.nextRequestId().call()

    def lifecycle_r1(self, fn: bytes, n: int) -> int:
        f = self.coord.functions
        first = self.next_id()
        if n == 1:
            gas = self.tx(self.gateway, f.requestExecution(fn, b"\x11" * 32))
        else:
            gas = self.tx(self.gateway, f.requestExecutionBatch([fn] * n, [bytes([i % 256]) * 32 for i in range(n)]))
        ids = list(range(first, first + n))
        by_primary: dict[str, list[int]] = {}
        for rid in ids:
            by_primary.setdefault(f.primaryOf(rid).call(), []).append(rid)
        for primary, mine in by_primary.items():
            account = self.by_address[primary]
            if len(mine) == 1 and n == 1:
                gas += self.tx(account, f.submit(mine[0], b"\x22" * 32))
            else:
                gas += self.tx(account, f.submitBatch(mine, [b"\x22" * 32] * len(mine)))
        return gas

    def lifecycle_r3(self, fn: bytes, n: int) -> int:
        f = self.coord.functions
        first = self.next_id()
        if n == 1:
            gas = self.tx(self.gateway, f.requestExecution(fn, b"\x11" * 32))
        else:
            gas = self.tx(self.gateway, f.requestExecutionBatch([fn] * n, [bytes([i % 256]) * 32 for i in range(n)]))
        ids = list(range(first, first + n))
        result, salt = b"\x33" * 32, b"\x44" * 32
        for w in self.workers:
            commitments = [f.commitmentOf(rid, result, w.address, salt).call() for rid in ids]
            if n == 1:
                gas += self.tx(w, f.commit(ids[0], commitments[0]))
            else:
                gas += self.tx(w, f.commitBatch(ids, commitments))
        for w in self.workers:
            if n == 1:
                gas += self.tx(w, f.reveal(ids[0], result, salt))
            else:
                gas += self.tx(w, f.revealBatch(ids, [result] * n, [salt] * n))
        if n == 1:
            gas += self.tx(self.gateway, f.finalize(ids[0]))
        else:
            gas += self.tx(self.gateway, f.finalizeBatch(ids))
        for rid in ids:
            assert f.getRequest(rid).call()[5] == 2, "request not finalized"
        return gas


def measure(batch: int) -> dict[str, Any]:
    with Anvil() as chain:
        net = Network(Web3(Web3.HTTPProvider(chain.rpc_url)))
        r1, r3 = net.setup()
        net.lifecycle_r1(r1, 3)  # warm-up: owed balances of every worker exist
        net.lifecycle_r3(r3, 1)
        return {
            "r1": net.lifecycle_r1(r1, 1),
            "r3": net.lifecycle_r3(r3, 1),
            "r1_batch32": round(net.lifecycle_r1(r1, batch) / batch),
            "r3_batch32": round(net.lifecycle_r3(r3, batch) / batch),
            "batch_size": batch,
            "targets": {"r1": 150_000, "r1_batch32": 80_000},
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--out", help="also write the JSON to this file")
    args = parser.parse_args(argv)
    result = {"gas_per_request": measure(args.batch)}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
