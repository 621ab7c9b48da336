"""Write a zip archive as a stream of bytes (no seeking, nothing held but the current piece), with
fixed timestamps so the same content always gives the same bytes."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator

_EPOCH = (1980, 1, 1, 0, 0, 0)


class _Sink(io.RawIOBase):
    """An unseekable file that keeps what was written until it is taken."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        self._parts.append(data)
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts = []
        return out


def zip_stream(entries: Iterable[tuple[str, Iterable[str | bytes]]]) -> Iterator[bytes]:
    """``entries``: (name inside the zip, pieces of its content). Yields the archive's bytes."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, pieces in entries:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with archive.open(info, "w", force_zip64=True) as fh:
                for piece in pieces:
                    fh.write(piece.encode() if isinstance(piece, str) else piece)
                    if sink.tell() and len(sink._parts) > 16:
                        yield sink.take()
            yield sink.take()
    yield sink.take()


def read_zip(data: bytes, max_bytes: int) -> dict[str, bytes]:
    """Every file of a zip (folders skipped); refuses archives that unpack past ``max_bytes``."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        total = sum(i.file_size for i in archive.infolist())
        if total > max_bytes:
            raise ValueError(f"the archive unpacks to {total} bytes, more than the {max_bytes} allowed")
        return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}


def is_zip(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"
