"""An ASGI app serving a block store as an IPFS trustless gateway, plus the Kubo RPC subset.

Mounted by the PeerHost gateway at `/`:
  GET|HEAD /ipfs/<cid>                 file content (UnixFS), or
           ?format=raw | Accept: application/vnd.ipld.raw   the block itself
           ?format=car | Accept: application/vnd.ipld.car   the whole DAG as a CARv1
  POST /api/v0/add, /api/v0/cat, /api/v0/block/{put,get,stat}, /api/v0/pin/add   (Kubo RPC)
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from peerhost.storage.car import write_car
from peerhost.storage.cid import CID, DAG_PB, RAW
from peerhost.storage.errors import InvalidCID, NotFound, StorageError, TooLarge
from peerhost.storage.store import BlockStore, add_bytes, cat, dag_blocks
from peerhost.storage.unixfs import Block

RAW_TYPE = "application/vnd.ipld.raw"
CAR_TYPE = "application/vnd.ipld.car"
DEFAULT_MAX_UPLOAD = 64 * 1024 * 1024
MAX_BLOCK_UPLOAD = 4 * 1024 * 1024


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _kubo_error(message: str, status: int = 500) -> JSONResponse:
    return JSONResponse({"Message": message, "Code": 0, "Type": "error"}, status_code=status)


def _wanted_format(request: Request) -> str:
    fmt = request.query_params.get("format")
    if fmt:
        return fmt
    accept = request.headers.get("accept", "")
    if RAW_TYPE in accept:
        return "raw"
    if CAR_TYPE in accept:
        return "car"
    return "file"


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"upload larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"upload larger than {limit} bytes")
    return bytes(body)


async def _uploaded_file(request: Request, limit: int) -> bytes:
    """The first file of a multipart upload (Kubo's RPC convention), read within `limit`."""
    body = await _read_body(request, limit)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise StorageError("expected a multipart/form-data upload with a file part")
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def stream():
        yield body

    try:
        form = await MultiPartParser(request.headers, stream(), max_part_size=limit).parse()
    except MultiPartException as exc:
        raise StorageError(f"malformed multipart upload: {exc.message}") from None
    for value in form.values():
        if hasattr(value, "read"):
            return await value.read()
    raise StorageError("the upload has no file part")


def create_store_app(store: BlockStore, *, max_upload: int = DEFAULT_MAX_UPLOAD, writable: bool = True) -> Starlette:
    """The trustless gateway (and, when `writable`, the Kubo RPC subset) over `store`."""
    return Starlette(routes=store_routes(store, max_upload=max_upload, writable=writable))


def store_routes(store: BlockStore, *, max_upload: int = DEFAULT_MAX_UPLOAD, writable: bool = True) -> list[Route]:
    """The store's routes, for mounting beside other routes (the gateway's)."""

    async def ipfs(request: Request) -> Response:
        try:
            cid = CID.parse(request.path_params["cid"])
        except InvalidCID as exc:
            return _error(400, "invalid_cid", str(exc))
        if not store.has(cid):
            return _error(404, "not_found", f"{cid} is not in this store")
        fmt = _wanted_format(request)
        headers = {"Etag": f'"{cid}"', "X-Ipfs-Path": f"/ipfs/{cid}",
                   "Cache-Control": "public, max-age=29030400, immutable"}  # fmt: skip
        try:
            if fmt == "raw":
                data = store.get_block(cid)
                return Response(b"" if request.method == "HEAD" else data, media_type=RAW_TYPE, headers=headers)
            if fmt == "car":
                headers["Etag"] = f'"{cid}.car"'
                blocks = list(dag_blocks(store, cid))
                body = b"" if request.method == "HEAD" else b"".join(write_car(cid, blocks))
                return Response(body, media_type=f"{CAR_TYPE}; version=1", headers=headers)
            if fmt != "file":
                return _error(400, "invalid_format", f"unknown format {fmt!r}: use raw or car")
            data = b"".join(cat(store, cid))
            return Response(b"" if request.method == "HEAD" else data, media_type="application/octet-stream",
                            headers={**headers, "Content-Length": str(len(data))})  # fmt: skip
        except NotFound as exc:
            return _error(404, "not_found", f"incomplete DAG: {exc}")
        except StorageError as exc:
            return _error(502, "bad_content", str(exc))

    async def rpc(request: Request) -> Response:
        if not writable:
            return _kubo_error("this store is read-only", 405)
        command = request.path_params["command"]
        arg = request.query_params.get("arg")
        try:
            if command == "add":
                data = await _uploaded_file(request, max_upload)
                version = int(request.query_params.get("cid-version", "0"))
                if version not in (0, 1):
                    return _kubo_error("cid-version must be 0 or 1", 400)
                root = add_bytes(store, data, version)
                return JSONResponse({"Name": str(root), "Hash": str(root), "Size": str(len(data))})
            if command == "block/put":
                data = await _uploaded_file(request, MAX_BLOCK_UPLOAD)
                codec = {"raw": RAW, "dag-pb": DAG_PB}.get(request.query_params.get("cid-codec", "raw"))
                if codec is None:
                    return _kubo_error("cid-codec must be raw or dag-pb", 400)
                cid = CID.of(data, codec, 1)
                store.put_block(Block(cid, data))
                return JSONResponse({"Key": str(cid), "Size": len(data)})
            if arg is None:
                return _kubo_error("argument \"arg\" is required", 400)
            cid = CID.parse(arg)
            if command == "block/get":
                return Response(store.get_block(cid), media_type="application/octet-stream")
            if command == "block/stat":
                return JSONResponse({"Key": str(cid), "Size": len(store.get_block(cid))})
            if command == "cat":
                return StreamingResponse(cat(store, cid), media_type="application/octet-stream")
            if command == "pin/add":
                list(dag_blocks(store, cid))  # the local store keeps everything: check the DAG is complete
                return JSONResponse({"Pins": [str(cid)]})
            return _kubo_error(f"unknown command {command!r}", 404)
        except NotFound as exc:
            return _kubo_error(f"{exc}", 500)
        except TooLarge as exc:
            return _kubo_error(str(exc), 413)
        except (InvalidCID, StorageError, ValueError) as exc:
            return _kubo_error(str(exc), 400)

    return [
        Route("/ipfs/{cid}", ipfs, methods=["GET", "HEAD"]),
        Route("/api/v0/{command:path}", rpc, methods=["POST"]),
    ]
