"""The store's trustless gateway and Kubo RPC API over real loopback HTTP, and the remote stores."""

from __future__ import annotations

import random

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from peerhost.storage.car import read_car
from peerhost.storage.cid import CID
from peerhost.storage.errors import IntegrityError, NotFound, StorageError
from peerhost.storage.local import LocalBlockStore, MemoryBlockStore
from peerhost.storage.remote import KuboRPCStore, TrustlessGatewayStore
from peerhost.storage.server import create_store_app
from peerhost.storage.store import add_bytes, cat_bytes
from peerhost.storage.unixfs import import_bytes
from tests.servers import serve

DATA = random.Random(7).randbytes(600_000)


@pytest.fixture
def served(tmp_path):
    store = LocalBlockStore(tmp_path)
    with serve(create_store_app(store)) as url:
        yield store, url


def test_gateway_serves_file_raw_and_car(served) -> None:
    store, url = served
    root = add_bytes(store, DATA, 1)
    r = httpx.get(f"{url}/ipfs/{root}")
    assert r.status_code == 200
    assert r.content == DATA
    assert r.headers["etag"] == f'"{root}"'
    assert "immutable" in r.headers["cache-control"]

    raw = httpx.get(f"{url}/ipfs/{root}", params={"format": "raw"})
    assert raw.headers["content-type"] == "application/vnd.ipld.raw"
    root.verify(raw.content)
    raw2 = httpx.get(f"{url}/ipfs/{root}", headers={"Accept": "application/vnd.ipld.raw"})
    assert raw2.content == raw.content

    car = httpx.get(f"{url}/ipfs/{root}", params={"format": "car"})
    assert car.headers["content-type"].startswith("application/vnd.ipld.car")
    roots, blocks = read_car(car.content)
    assert roots == [root] and len(blocks) == 4

    head = httpx.head(f"{url}/ipfs/{root}")
    assert head.status_code == 200 and head.content == b""


def test_gateway_errors(served) -> None:
    _, url = served
    missing = httpx.get(f"{url}/ipfs/{CID.of(b'nothing here')}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    bad = httpx.get(f"{url}/ipfs/not-a-cid")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_cid"
    store, _ = served
    root = add_bytes(store, b"x", 1)
    assert httpx.get(f"{url}/ipfs/{root}", params={"format": "zip"}).status_code == 400


def test_trustless_gateway_store_reads_and_verifies(served) -> None:
    store, url = served
    root = add_bytes(store, DATA, 0)
    remote = TrustlessGatewayStore(url)
    assert cat_bytes(remote, root) == DATA
    assert remote.has(root)
    assert not remote.has(CID.of(b"absent"))
    with pytest.raises(NotFound):
        remote.get_block(CID.of(b"absent"))
    with pytest.raises(StorageError, match="read-only"):
        add_bytes(remote, b"x")


def test_lying_gateway_is_caught() -> None:
    """A gateway that returns other bytes than asked for: the data is refused, never returned."""

    async def liar(request):
        return Response(b"not what you asked for", media_type="application/vnd.ipld.raw")

    with serve(Starlette(routes=[Route("/ipfs/{cid}", liar)])) as url:
        with pytest.raises(IntegrityError):
            TrustlessGatewayStore(url).get_block(CID.of(b"the real content"))


def test_kubo_rpc_store_against_the_rpc_subset(served) -> None:
    store, url = served
    kubo = KuboRPCStore(url)
    root = add_bytes(kubo, DATA, 1)  # every block goes through /api/v0/block/put
    kubo.pin(root)
    assert root == import_bytes(DATA, 1)[0]
    assert cat_bytes(store, root) == DATA
    assert cat_bytes(kubo, root) == DATA
    assert kubo.has(root)
    assert not kubo.has(CID.of(b"absent"))
    with pytest.raises(NotFound):
        kubo.get_block(CID.of(b"absent"))


def test_kubo_rpc_add_and_cat(served) -> None:
    _, url = served
    for version in (0, 1):
        r = httpx.post(f"{url}/api/v0/add", params={"cid-version": version},
                       files={"file": ("f", DATA, "application/octet-stream")})  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["Hash"] == str(import_bytes(DATA, version)[0])
        cat = httpx.post(f"{url}/api/v0/cat", params={"arg": r.json()["Hash"]})
        assert cat.content == DATA
    assert httpx.post(f"{url}/api/v0/cat").status_code == 400
    assert httpx.post(f"{url}/api/v0/add", content=b"not multipart").status_code == 400


def test_upload_limit() -> None:
    with serve(create_store_app(MemoryBlockStore(), max_upload=1000)) as url:
        r = httpx.post(f"{url}/api/v0/add", files={"file": ("f", b"x" * 5000, "application/octet-stream")})
        assert r.status_code == 413


def test_unreachable_remotes_fail_clearly() -> None:
    with pytest.raises(StorageError, match="cannot fetch"):
        TrustlessGatewayStore("http://127.0.0.1:9").get_block(CID.of(b"x"))
    with pytest.raises(StorageError, match="cannot reach the Kubo RPC API"):
        KuboRPCStore("http://127.0.0.1:9").get_block(CID.of(b"x"))


def test_trustless_gateway_car_fetch_verifies_the_whole_dag(served) -> None:
    store, url = served
    root = add_bytes(store, DATA, 1)
    local = MemoryBlockStore()
    count = TrustlessGatewayStore(url).fetch_car(root, local)
    assert count == 4
    assert cat_bytes(local, root) == DATA
    with pytest.raises(NotFound):
        TrustlessGatewayStore(url).fetch_car(CID.of(b"absent"), local)


def test_a_tampered_car_from_a_gateway_is_refused() -> None:
    from peerhost.storage.car import write_car
    from peerhost.storage.store import dag_blocks

    source = MemoryBlockStore()
    root = add_bytes(source, DATA, 1)
    car = bytearray(b"".join(write_car(root, dag_blocks(source, root))))
    car[-100] ^= 0x01

    async def tampered(request):
        return Response(bytes(car), media_type="application/vnd.ipld.car")

    with serve(Starlette(routes=[Route("/ipfs/{cid}", tampered)])) as url:
        local = MemoryBlockStore()
        with pytest.raises(IntegrityError):
            TrustlessGatewayStore(url).fetch_car(root, local)
        assert not local.has(root), "nothing is kept from a CAR that fails verification"
