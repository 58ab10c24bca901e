"""HTTP body compression: decoding request bodies and encoding responses.

Request bodies may be a concatenation of compressed frames (clickhouse-connect compresses each
insert block as its own lz4/zstd frame), so decoders restart after every frame. Responses are
one frame per response, which is what the clients' streaming decompressors expect.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Protocol

import lz4.frame
import zstandard

from warehouse.embedded.errors import CANNOT_DECOMPRESS, UNKNOWN_COMPRESSION_METHOD, ClickHouseError


class _FrameDecoder(Protocol):
    eof: bool
    unused_data: bytes

    def decompress(self, data: bytes) -> bytes: ...


def _gzip_or_zlib() -> _FrameDecoder:
    return zlib.decompressobj(wbits=47)  # 32 + 15: detect a gzip or zlib header


_DECODERS: dict[str, Callable[[], _FrameDecoder]] = {
    "gzip": _gzip_or_zlib,
    "x-gzip": _gzip_or_zlib,
    "deflate": _gzip_or_zlib,
    "lz4": lz4.frame.LZ4FrameDecompressor,
    "zstd": lambda: zstandard.ZstdDecompressor().decompressobj(),
}


class BodyDecoder:
    """Incremental decoder for a request body with ``Content-Encoding``; identity when encoding is empty."""

    def __init__(self, encoding: str | None):
        encoding = (encoding or "").strip().lower()
        if encoding in ("", "identity", "none"):
            self._factory = None
        elif encoding in _DECODERS:
            self._factory = _DECODERS[encoding]
        else:
            raise ClickHouseError(UNKNOWN_COMPRESSION_METHOD, f"Unknown HTTP Content-Encoding: {encoding}")
        self.encoding = encoding
        self._decoder: _FrameDecoder | None = None

    def decode(self, data: bytes) -> bytes:
        if self._factory is None or not data:
            return data
        out = []
        try:
            while data:
                if self._decoder is None:
                    self._decoder = self._factory()
                out.append(self._decoder.decompress(data))
                if not self._decoder.eof:
                    break
                data = self._decoder.unused_data
                self._decoder = None
        except (zlib.error, RuntimeError, zstandard.ZstdError) as exc:
            raise ClickHouseError(CANNOT_DECOMPRESS, f"Cannot decompress {self.encoding} request body: {exc}") from None
        return b"".join(out)

    def finish(self) -> None:
        """Reject a body that ended inside a frame."""
        if self._decoder is not None and not self._decoder.eof:
            raise ClickHouseError(CANNOT_DECOMPRESS, f"Truncated {self.encoding} request body")


class Encoder(Protocol):
    name: str

    def compress(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class _Zlib:
    def __init__(self, name: str, wbits: int, level: int):
        self.name = name
        self._obj = zlib.compressobj(level, zlib.DEFLATED, wbits)

    def compress(self, data: bytes) -> bytes:
        return self._obj.compress(data)

    def flush(self) -> bytes:
        return self._obj.flush()


class _Lz4:
    name = "lz4"

    def __init__(self):
        self._obj = lz4.frame.LZ4FrameCompressor()
        self._header = self._obj.begin()

    def compress(self, data: bytes) -> bytes:
        out = self._header + self._obj.compress(data)
        self._header = b""
        return out

    def flush(self) -> bytes:
        return self._header + self._obj.flush()


class _Zstd:
    name = "zstd"

    def __init__(self, level: int):
        self._obj = zstandard.ZstdCompressor(level=level).compressobj()

    def compress(self, data: bytes) -> bytes:
        return self._obj.compress(data)

    def flush(self) -> bytes:
        return self._obj.flush()


def choose_encoder(accept_encoding: str | None, zlib_level: int = 3) -> Encoder | None:
    """Pick the response encoding the way ClickHouse's chooseHTTPCompressionMethod does (zstd > lz4 > gzip > deflate).

    Like ClickHouse, this is a substring match on the header; brotli, snappy, xz and bz2 are not offered.
    """
    offered = (accept_encoding or "").lower()
    if "zstd" in offered:
        return _Zstd(level=1)
    if "lz4" in offered:
        return _Lz4()
    if "gzip" in offered:
        return _Zlib("gzip", 31, zlib_level)
    if "deflate" in offered:
        return _Zlib("deflate", 15, zlib_level)
    return None
