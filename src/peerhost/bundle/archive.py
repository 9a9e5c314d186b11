"""Deterministic bundle archives, and a reader that refuses hostile archives.

A bundle is an uncompressed POSIX ustar archive of regular files only, in byte order of their
paths, with mtime 0, owner 0:0, no user or group names and mode 0644: the same files always give
the same bytes, hence the same CID, on any machine. Uncompressed on purpose: zlib builds differ.
The reader also accepts gzip-compressed archives (from other tools) and decompresses them within
the same size limits, so a decompression bomb stops at the limit.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import zlib
from dataclasses import dataclass

from peerhost.bundle.errors import UnsafeContent


@dataclass(frozen=True)
class Limits:
    """Size limits of a bundle (and of the project files that go into one)."""

    max_files: int = 2_000
    max_file_size: int = 16 * 1024 * 1024
    max_total_size: int = 64 * 1024 * 1024


DEFAULT_LIMITS = Limits()


def check_member_path(path: str) -> str:
    """A safe, normalized relative POSIX path, or UnsafeContent."""
    if not path or "\\" in path or "\0" in path:
        raise UnsafeContent(f"unsafe path in bundle: {path!r}")
    if path.startswith("/") or posixpath.isabs(path):
        raise UnsafeContent(f"absolute path in bundle: {path!r}")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise UnsafeContent(f"path traversal in bundle: {path!r}")
    return path


def write_archive(files: dict[str, bytes], limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The deterministic archive of `files` (path -> content)."""
    if len(files) > limits.max_files:
        raise UnsafeContent(f"bundle has {len(files)} files, more than the limit of {limits.max_files}")
    total = sum(len(data) for data in files.values())
    if total > limits.max_total_size:
        raise UnsafeContent(f"bundle is {total} bytes, more than the limit of {limits.max_total_size}")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path in sorted(files, key=lambda p: p.encode()):
            check_member_path(path)
            data = files[path]
            if len(data) > limits.max_file_size:
                raise UnsafeContent(f"{path} is {len(data)} bytes, more than the limit of {limits.max_file_size}")
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            try:
                tar.addfile(info, io.BytesIO(data))
            except ValueError as exc:
                raise UnsafeContent(f"cannot archive {path!r}: {exc}") from None
    return out.getvalue()


def _gunzip_limited(data: bytes, limit: int) -> bytes:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    pos = 0
    while pos < len(data) and not decompressor.eof:
        out += decompressor.decompress(data[pos : pos + 65536], limit + 1 - len(out))
        while decompressor.unconsumed_tail and len(out) <= limit:
            out += decompressor.decompress(decompressor.unconsumed_tail, limit + 1 - len(out))
        if len(out) > limit:
            raise UnsafeContent(f"compressed bundle expands beyond {limit} bytes: refusing it (decompression bomb?)")
        pos += 65536
    return bytes(out)


def read_archive(data: bytes, limits: Limits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """Reads a bundle archive into path -> content, refusing anything unsafe."""
    if data[:2] == b"\x1f\x8b":
        data = _gunzip_limited(data, limits.max_total_size + 1024 * 1024)
    if len(data) > limits.max_total_size + 1024 * 1024:
        raise UnsafeContent(f"bundle archive is larger than {limits.max_total_size} bytes")
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                name = check_member_path(member.name)
                if not member.isreg():
                    if member.issym() or member.islnk():
                        kind = "link"
                    elif member.isfifo():
                        kind = "FIFO"
                    elif member.ischr() or member.isblk():
                        kind = "device"
                    else:
                        kind = "directory" if member.isdir() else "non-file"
                    raise UnsafeContent(f"bundle member {name!r} is a {kind}: only regular files are allowed")
                if name in files:
                    raise UnsafeContent(f"bundle member {name!r} appears twice")
                if len(files) >= limits.max_files:
                    raise UnsafeContent(f"bundle has more than {limits.max_files} files")
                if member.size > limits.max_file_size:
                    raise UnsafeContent(f"bundle member {name!r} is larger than {limits.max_file_size} bytes")
                total += member.size
                if total > limits.max_total_size:
                    raise UnsafeContent(f"bundle content exceeds {limits.max_total_size} bytes")
                extracted = tar.extractfile(member)
                assert extracted is not None
                files[name] = extracted.read()
    except tarfile.TarError as exc:
        raise UnsafeContent(f"not a bundle archive: {exc}") from None
    for name in files:  # a file may not also be a directory of another member
        parent = posixpath.dirname(name)
        while parent:
            if parent in files:
                raise UnsafeContent(f"bundle member {parent!r} is both a file and a directory")
            parent = posixpath.dirname(parent)
    return files
