"""Compressed log files, known by their first bytes rather than their name.

gzip, zstd, bzip2 and xz are read as streams (a ``.jsonl`` that is really gzip is
decompressed, not parsed as binary lines); a zip archive is refused (``compressed_file``):
it holds several members and the user must say which.
"""

import bz2
import gzip
import io
import lzma
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
)
REFUSED = ((b"PK\x03\x04", "a zip archive"), (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"))
SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2", ".xz": "xz"}
DECOMPRESSION_ERRORS = (EOFError, OSError, lzma.LZMAError, pa.ArrowException, ValueError)
"""What a truncated or corrupt compressed stream raises part-way through (gzip: EOFError,
BadGzipFile; bz2: OSError; xz: LZMAError; zstd via Arrow: ArrowInvalid)."""


class Refused(Exception):
    """A file whose first bytes say it cannot be read as a log (an archive)."""


def sniff(path: Path) -> str | None:
    """The compression of ``path`` from its magic bytes (``None``: plain); raises ``Refused``."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    for magic, what in REFUSED:
        if head.startswith(magic):
            raise Refused(f"{what} (unpack it; only gzip, zstd, bzip2 and xz streams are read)")
    return next((codec for magic, codec in _MAGIC if head.startswith(magic)), None)


def strip_suffix(name: str) -> str:
    """``logs.jsonl.gz`` -> ``logs.jsonl``: the format is named by the inner suffix."""
    stem, dot, suffix = name.rpartition(".")
    return stem if dot and f".{suffix.lower()}" in SUFFIXES else name


def open_stream(path: Path, codec: str | None) -> BinaryIO:
    """A binary file object of the decompressed bytes (``codec`` from ``sniff``)."""
    if codec is None:
        return open(path, "rb")
    if codec == "gzip":
        return gzip.open(path, "rb")
    if codec == "bz2":
        return bz2.open(path, "rb")
    if codec == "xz":
        return lzma.open(path, "rb")
    # zstd is not in this Python's standard library; Arrow ships the codec.
    return io.BufferedReader(_ArrowRaw(pa.CompressedInputStream(pa.OSFile(str(path), "rb"), "zstd")))


class _ArrowRaw(io.RawIOBase):
    """An Arrow input stream as a raw Python file, so ``BufferedReader`` gives it ``readline``."""

    def __init__(self, stream: pa.NativeFile):
        self.stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.stream.close()
        super().close()
