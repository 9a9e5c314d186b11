"""ExecutionCoordinator from Python: calls, transactions and decoded events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import decode
from eth_abi import encode as abi_encode
from hexbytes import HexBytes
from web3 import Web3

from peerhost.chain.artifacts import load_artifact
from peerhost.chain.errors import ChainError
from peerhost.chain.rpc import RPC, RPCError, TxSender

POLICIES = {"fastest": 0, "quorum": 1, "finalized": 2}
POLICY_NAMES = {v: k for k, v in POLICIES.items()}
STATUS_NAMES = {0: "none", 1: "pending", 2: "finalized", 3: "expired", 4: "unresolved"}

# Gas limits: generous upper bounds (unused gas is not charged).
GAS = {"requestExecution": 250_000, "submit": 150_000, "commit": 200_000, "reveal": 150_000,
       "finalize": 600_000, "deployFunction": 400_000, "registerWorker": 300_000, "deposit": 100_000,
       "withdraw": 100_000, "fundTreasury": 100_000}  # fmt: skip
GAS_PER_ITEM = {"requestExecutionBatch": 60_000, "submitBatch": 30_000, "commitBatch": 90_000,
                "revealBatch": 40_000, "finalizeBatch": 200_000}  # fmt: skip


@dataclass(frozen=True)
class ExecutionRequested:
    request_id: int
    function_id: bytes
    requester: str
    version: int
    code_hash: bytes
    codec: int
    input_hash: bytes
    redundancy: int
    commit_deadline: int
    fee: int
    primary: str
    block_number: int


@dataclass(frozen=True)
class FunctionVersion:
    function_id: bytes
    owner: str
    current_version: int
    latest_version: int
    active: bool
    pay_to: str
    price: int
    code_hash: bytes
    timeout_ms: int
    memory_mb: int
    redundancy: int
    policy: str
    codec: int


class Coordinator:
    """Typed access to one deployed ExecutionCoordinator."""

    def __init__(self, rpc: RPC, address: str, sender: TxSender | None = None) -> None:
        self.rpc = rpc
        self.address = Web3.to_checksum_address(address)
        self.sender = sender
        self.contract = Web3().eth.contract(address=self.address, abi=load_artifact("ExecutionCoordinator").abi)
        # Selectors and ABI types, computed once: web3's per-call encoding dominated the CPU profile.
        self._fns: dict[str, tuple[bytes, list[str], list[str]]] = {}
        for item in self.contract.abi:
            if item.get("type") == "function":
                inputs = [_abi_type(i) for i in item["inputs"]]
                selector = Web3.keccak(text=f"{item['name']}({','.join(inputs)})")[:4]
                self._fns[item["name"]] = (selector, inputs, [_abi_type(o) for o in item["outputs"]])
        self._event_abi: dict[str, tuple[str, list[tuple[str, str, bool]]]] = {}
        for item in self.contract.abi:
            if item.get("type") == "event":
                types = [_abi_type(i) for i in item["inputs"]]
                topic = "0x" + Web3.keccak(text=f"{item['name']}({','.join(types)})").hex()
                self._event_abi[topic] = (item["name"], [(i["name"], t, i["indexed"]) for i, t in zip(item["inputs"], types, strict=True)])
        self._topics = {name: topic for topic, (name, _) in self._event_abi.items()}

    # ------------------------------------------------------------------ encoding

    def encode(self, fn: str, *args: Any) -> str:
        selector, inputs, _ = self._fns[fn]
        return "0x" + (selector + abi_encode(inputs, list(args))).hex()

    def topic(self, event: str) -> str:
        return self._topics[event]

    def decode_log(self, log: dict) -> tuple[str, dict[str, Any]] | None:
        """(event name, arguments) of a log of this contract, or None (decoded from the ABI directly)."""
        topics = log.get("topics") or []
        if not topics:
            return None
        topic0 = topics[0] if isinstance(topics[0], str) else "0x" + bytes(topics[0]).hex()
        spec = self._event_abi.get(topic0.lower())
        if spec is None:
            return None
        name, inputs = spec
        data = HexBytes(log["data"])
        values = iter(decode([t for _, t, indexed in inputs if not indexed], data))
        indexed_topics = iter(topics[1:])
        args: dict[str, Any] = {}
        for arg, typ, indexed in inputs:
            if indexed:
                args[arg] = decode([typ], HexBytes(next(indexed_topics)))[0]
            else:
                args[arg] = next(values)
            if typ == "address":
                args[arg] = Web3.to_checksum_address(args[arg])
        if name == "FunctionDeployed":
            fields = ("price", "payTo", "timeoutMs", "memoryMb", "redundancy", "policy")
            args["config"] = dict(zip(fields, args["config"], strict=True))
            args["config"]["payTo"] = Web3.to_checksum_address(args["config"]["payTo"])
        block = log["blockNumber"]
        args["blockNumber"] = int(block, 16) if isinstance(block, str) else block
        return name, args

    @staticmethod
    def execution_requested(args: dict[str, Any]) -> ExecutionRequested:
        return ExecutionRequested(args["requestId"], args["functionId"], args["requester"], args["version"],
                                  args["codeHash"], args["codec"], args["inputHash"], args["redundancy"],
                                  args["commitDeadline"], args["fee"], args["primary"], args["blockNumber"])  # fmt: skip

    # ------------------------------------------------------------------ calls

    async def call(self, fn: str, *args: Any, block: str = "latest") -> Any:
        data = self.encode(fn, *args)
        raw = await self.rpc.eth_call(self.address, data, block)
        types = self._fns[fn][2]
        values = tuple(_checksum(t, v) for t, v in zip(types, decode(types, raw), strict=True))
        return values[0] if len(values) == 1 else values

    async def function(self, function_id: bytes) -> FunctionVersion:
        record, version = await self.call("getFunction", function_id)
        owner, current, latest, active, pay_to, price = record
        code_hash, timeout_ms, memory_mb, redundancy, policy, codec = version
        return FunctionVersion(function_id, Web3.to_checksum_address(owner), current, latest, active,
                               Web3.to_checksum_address(pay_to), price, code_hash, timeout_ms, memory_mb,
                               redundancy, POLICY_NAMES[policy], codec)  # fmt: skip

    async def function_id(self, owner: str, project: str, name: str) -> bytes:
        return Web3.keccak(self.contract.w3.codec.encode(["address", "string", "string"],
                                                         [Web3.to_checksum_address(owner), project, name]))  # fmt: skip

    async def request(self, request_id: int) -> dict[str, Any]:
        requester, fee_gwei, deadline, redundancy, commits, status, from_quota = await self.call("getRequest", request_id)
        return {"requester": requester, "fee_gwei": fee_gwei, "commit_deadline": deadline, "redundancy": redundancy,
                "commit_count": commits, "status": STATUS_NAMES[status], "from_quota": from_quota}  # fmt: skip

    async def worker(self, address: str) -> dict[str, Any]:
        stake, open_commitments, active_index, unbonding_at, registered = await self.call("getWorker", address)
        return {"stake": stake, "open_commitments": open_commitments, "active": active_index != 0,
                "unbonding_at": unbonding_at, "registered": registered}  # fmt: skip

    # ------------------------------------------------------------------ transactions

    async def send(self, fn: str, *args: Any, value: int = 0, items: int = 0) -> str:
        assert self.sender is not None, "a Coordinator without a sender is read-only"
        gas = GAS.get(fn) or (GAS_PER_ITEM[fn] * max(items, 1) + 100_000)
        return await self.sender.send(self.address, self.encode(fn, *args), gas=gas, value=value)

    async def transact(self, fn: str, *args: Any, value: int = 0, items: int = 0) -> dict:
        assert self.sender is not None
        try:
            return await self.sender.wait(await self.send(fn, *args, value=value, items=items), what=fn)
        except RPCError as exc:
            raise ChainError(f"{fn} refused: {self.decode_error(exc.data) or exc}") from None
        except ChainError:
            reason = await self.why(fn, *args, value=value)
            raise ChainError(f"{fn} reverted: {reason}") from None

    async def why(self, fn: str, *args: Any, value: int = 0) -> str:
        """Why a call reverts now, by simulating it from the sender."""
        assert self.sender is not None
        try:
            await self.rpc.call("eth_call", {"from": self.sender.address, "to": self.address,
                                             "data": self.encode(fn, *args), "value": hex(value)}, "latest")  # fmt: skip
        except RPCError as exc:
            return self.decode_error(exc.data) or str(exc)
        return "unknown reason (the call succeeds now)"

    def decode_error(self, data: Any) -> str | None:
        """A custom error of the contract, as `Name(arg, ...)`."""
        if isinstance(data, dict):
            data = data.get("data")
        if not isinstance(data, str) or len(data) < 10:
            return None
        raw = HexBytes(data)
        for item in self.contract.abi:
            if item.get("type") != "error":
                continue
            types = [_abi_type(i) for i in item["inputs"]]
            selector = Web3.keccak(text=f"{item['name']}({','.join(types)})")[:4]
            if raw[:4] == selector:
                values = decode(types, raw[4:])
                shown = ", ".join(v.hex() if isinstance(v, bytes) else str(v) for v in values)
                return f"{item['name']}({shown})"
        return None

    def events_in(self, receipt: dict) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for log in receipt.get("logs", []):
            if Web3.to_checksum_address(log["address"]) != self.address:
                continue
            decoded = self.decode_log(log)
            if decoded:
                out.append(decoded)
        return out


def _checksum(abi_type: str, value: Any) -> Any:
    """eth_abi returns addresses in lowercase: give them their checksum form (as web3 does)."""
    if abi_type == "address":
        return Web3.to_checksum_address(value)
    if abi_type == "address[]":
        return [Web3.to_checksum_address(v) for v in value]
    return value


def _abi_type(output: dict) -> str:
    if output["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in output["components"])
        return f"({inner}){output['type'][5:]}"
    return output["type"]
