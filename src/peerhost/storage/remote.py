"""Remote block stores: the Kubo RPC API and read-only IPFS trustless HTTP gateways.

Whatever a remote returns is verified against the CID before it is handed out.
"""

from __future__ import annotations

import httpx

from peerhost.storage.cid import CID
from peerhost.storage.errors import NotFound, StorageError
from peerhost.storage.unixfs import Block

MAX_BLOCK = 4 * 1024 * 1024


def _read_limited(response: httpx.Response, limit: int) -> bytes:
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            raise StorageError(f"remote block larger than {limit} bytes")
    return bytes(body)


class TrustlessGatewayStore:
    """Reads blocks from any IPFS trustless gateway (`GET /ipfs/<cid>?format=raw`). Read-only."""

    def __init__(self, base_url: str, *, timeout: float = 30, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=True)

    def _fetch(self, cid: CID, fmt: str, limit: int) -> bytes:
        """GET /ipfs/<cid>?format=<fmt> (raw or car), at most `limit` bytes; not yet verified."""
        try:
            with self.client.stream("GET", f"{self.base_url}/ipfs/{cid}", params={"format": fmt},
                                    headers={"Accept": f"application/vnd.ipld.{fmt}"}) as r:  # fmt: skip
                if r.status_code == 404:
                    raise NotFound(cid)
                if r.status_code != 200:
                    raise StorageError(f"gateway {self.base_url} answered {r.status_code} for {cid} ({fmt})")
                return _read_limited(r, limit)
        except httpx.HTTPError as exc:
            raise StorageError(f"cannot fetch {cid} from {self.base_url}: {exc}") from None

    def get_block(self, cid: CID) -> bytes:
        data = self._fetch(cid, "raw", MAX_BLOCK)
        cid.verify(data)
        return data

    def has(self, cid: CID) -> bool:
        try:
            self.get_block(cid)
            return True
        except NotFound:
            return False

    def fetch_car(self, cid: CID, into, *, max_bytes: int = 256 * 1024 * 1024) -> int:
        """Fetches the whole DAG of `cid` in one request (`?format=car`) into the store `into`.

        Every block is verified against its CID; the CAR must hold exactly the root asked for.
        Returns the number of blocks stored."""
        from peerhost.storage.car import read_car

        roots, blocks = read_car(self._fetch(cid, "car", max_bytes))
        if roots != [cid]:
            raise StorageError(f"the CAR for {cid} has other roots: {[str(r) for r in roots]}")
        for block in blocks:
            into.put_block(block)
        return len(blocks)

    def put_block(self, block: Block) -> None:
        raise StorageError(f"the trustless gateway {self.base_url} is read-only")


class KuboRPCStore:
    """Blocks in a Kubo node through its RPC API (`/api/v0/block/put|get|stat`, `/api/v0/pin/add`)."""

    def __init__(self, api_url: str, *, timeout: float = 60, client: httpx.Client | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.client = client or httpx.Client(timeout=timeout)

    def _post(self, path: str, **kwargs) -> httpx.Response:
        try:
            return self.client.post(f"{self.api_url}/api/v0/{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise StorageError(f"cannot reach the Kubo RPC API at {self.api_url}: {exc}") from None

    def put_block(self, block: Block) -> None:
        block.cid.verify(block.data)
        r = self._post(
            "block/put",
            params={"cid-codec": block.cid.codec_name, "mhtype": "sha2-256", "pin": "false"},
            files={"file": ("block", block.data, "application/octet-stream")},
        )
        if r.status_code != 200:
            raise StorageError(f"Kubo refused block {block.cid}: {r.text.strip()}")
        key = CID.parse(r.json()["Key"])
        if key.digest != block.cid.digest or key.codec != block.cid.codec:
            raise StorageError(f"Kubo stored {key} for block {block.cid}")

    def get_block(self, cid: CID) -> bytes:
        r = self._post("block/get", params={"arg": str(cid)})
        if r.status_code != 200:
            if "not found" in r.text.lower():
                raise NotFound(cid)
            raise StorageError(f"Kubo could not return {cid}: {r.text.strip()}")
        if len(r.content) > MAX_BLOCK:
            raise StorageError(f"block {cid} from Kubo is larger than {MAX_BLOCK} bytes")
        cid.verify(r.content)
        return r.content

    def has(self, cid: CID) -> bool:
        r = self._post("block/stat", params={"arg": str(cid), "offline": "true"})
        return r.status_code == 200

    def pin(self, cid: CID) -> None:
        r = self._post("pin/add", params={"arg": str(cid)})
        if r.status_code != 200:
            raise StorageError(f"Kubo could not pin {cid}: {r.text.strip()}")
