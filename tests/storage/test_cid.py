from __future__ import annotations

import hashlib

import pytest

from peerhost.storage.cid import CID, DAG_PB, RAW, b58decode, b58encode
from peerhost.storage.errors import IntegrityError, InvalidCID

HELLO_V0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
EMPTY_RAW = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def test_raw_cid_of_bytes() -> None:
    assert str(CID.of(b"", RAW, 1)) == EMPTY_RAW
    assert CID.of(b"x").digest == hashlib.sha256(b"x").digest()


@pytest.mark.parametrize("text", [HELLO_V0, EMPTY_RAW, "bafybeigxrbq7fuchvgd6onff4gbsw5a2p2723maltvtkbglz3l5sak37gm"])
def test_parse_roundtrip(text: str) -> None:
    cid = CID.parse(text)
    assert str(cid) == text
    assert CID.from_bytes(cid.to_bytes()) == cid


def test_v0_to_v1_keeps_the_digest() -> None:
    v0 = CID.parse(HELLO_V0)
    v1 = v0.to_v1()
    assert (v1.version, v1.codec, v1.digest) == (1, DAG_PB, v0.digest)
    assert str(v1).startswith("bafybei")


def test_base58btc_v1_is_accepted() -> None:
    cid = CID.parse(EMPTY_RAW)
    assert CID.parse("z" + b58encode(cid.to_bytes())) == cid


@pytest.mark.parametrize(
    "text",
    ["", "hello", "Qm123", "BAFKREIHDWDCEFGH4DQKJV67UZCMW7OJEE6XEDZDETOJUZJEVTENXQUVYKU", "bafkrei!!",
     "bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"],  # the last is dag-cbor
)  # fmt: skip
def test_invalid_cids_are_refused(text: str) -> None:
    with pytest.raises(InvalidCID):
        CID.parse(text)


def test_trailing_bytes_and_bad_digests() -> None:
    raw = CID.of(b"x").to_bytes()
    with pytest.raises(InvalidCID, match="trailing"):
        CID.from_bytes(raw + b"\0")
    with pytest.raises(InvalidCID):
        CID.from_bytes(raw[:-1])
    with pytest.raises(InvalidCID, match="CIDv0 is always dag-pb"):
        CID(0, RAW, b"\0" * 32)


def test_verify() -> None:
    cid = CID.of(b"data")
    cid.verify(b"data")
    with pytest.raises(IntegrityError):
        cid.verify(b"DATA")


def test_base58_leading_zeros() -> None:
    for data in [b"", b"\0", b"\0\0\x01", b"\xff" * 5]:
        assert b58decode(b58encode(data)) == data
