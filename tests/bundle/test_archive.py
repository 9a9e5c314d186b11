"""The bundle reader refuses hostile archives."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from peerhost.bundle.archive import Limits, read_archive, write_archive
from peerhost.bundle.builder import open_bundle
from peerhost.bundle.errors import BundleError, UnsafeContent


def tar_with(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def member(name: str, data: bytes = b"x", type_: bytes = tarfile.REGTYPE, **attrs) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type = type_
    info.size = len(data) if type_ == tarfile.REGTYPE else 0
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data if type_ == tarfile.REGTYPE else None


def test_roundtrip_and_determinism() -> None:
    files = {"b.py": b"2", "a/x.py": b"1", "peerhost.json": b"{}"}
    archive = write_archive(files)
    assert archive == write_archive(dict(reversed(list(files.items()))))
    assert read_archive(archive) == files
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        infos = tar.getmembers()
    assert [i.name for i in infos] == ["a/x.py", "b.py", "peerhost.json"]
    assert all(i.mtime == 0 and i.uid == 0 and i.gid == 0 and i.mode == 0o644 and i.uname == "" for i in infos)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([member("../escape.py")], "path traversal"),
        ([member("a/../../escape.py")], "path traversal"),
        ([member("/etc/passwd")], "absolute path"),
        ([member("link", type_=tarfile.SYMTYPE, linkname="/etc/passwd")], "is a link"),
        ([member("hard", type_=tarfile.LNKTYPE, linkname="x")], "is a link"),
        ([member("dev", type_=tarfile.CHRTYPE, devmajor=1, devminor=3)], "is a device"),
        ([member("fifo", type_=tarfile.FIFOTYPE)], "is a FIFO"),
        ([member("dir", type_=tarfile.DIRTYPE)], "is a directory"),
        ([member("a.py"), member("a.py")], "appears twice"),
        ([member("a"), member("a/b.py")], "both a file and a directory"),
    ],
)  # fmt: skip
def test_hostile_members_are_refused(members, message: str) -> None:
    with pytest.raises(UnsafeContent, match=message):
        read_archive(tar_with(*members))


def test_size_limits() -> None:
    archive = write_archive({f"f{i}.py": b"x" * 100 for i in range(10)})
    with pytest.raises(UnsafeContent, match="more than 5 files"):
        read_archive(archive, Limits(max_files=5))
    with pytest.raises(UnsafeContent, match="larger than 50 bytes"):
        read_archive(archive, Limits(max_file_size=50))
    with pytest.raises(UnsafeContent, match="exceeds 500 bytes"):
        read_archive(archive, Limits(max_total_size=500))


def test_decompression_bomb_stops_at_the_limit() -> None:
    zeros = io.BytesIO()
    with tarfile.open(fileobj=zeros, mode="w") as tar:
        info = tarfile.TarInfo("bomb.py")
        info.size = 200 * 1024 * 1024
        tar.addfile(info, io.BytesIO(b"\0" * info.size))
    bomb = gzip.compress(zeros.getvalue(), compresslevel=9)
    assert len(bomb) < 1024 * 1024
    with pytest.raises(UnsafeContent, match="decompression bomb"):
        read_archive(bomb, Limits(max_total_size=8 * 1024 * 1024))


def test_gzip_compressed_bundles_within_limits_are_read() -> None:
    files = {"peerhost.json": b"{}", "x.py": b"print(1)\n"}
    assert read_archive(gzip.compress(write_archive(files))) == files


def test_garbage_is_not_a_bundle() -> None:
    with pytest.raises(UnsafeContent, match="not a bundle archive"):
        read_archive(b"\x00garbage" * 10)
    with pytest.raises(BundleError, match="no peerhost.json"):
        open_bundle(write_archive({"x.py": b""}))
    with pytest.raises(BundleError, match="peerhost.json is invalid"):
        open_bundle(write_archive({"peerhost.json": b"{nope"}))
