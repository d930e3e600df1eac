"""Check a PNG's integrity by streaming its compressed pixels, never holding them.

Pillow can only decode a PNG whole: a 344 KB file that declares 9,000 x 9,000 pixels costs 243 MB
for the duration of the decode. This walk checks what a decode would: every chunk's CRC, a zlib
stream that inflates to at least the bytes the header announces (more is ignored, as decoders do), while
holding 1 MB of the file and 1 MB of inflated pixels at a time.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"
INFLATE_BLOCK = 1 << 20  # inflated bytes held at once
READ_BLOCK = 1 << 20  # compressed bytes held at once
MAX_KEPT = 1 << 20  # bytes of IHDR or eXIf kept to parse (an eXIf past this is truncated, and ignored)
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
# Adam7 passes: (x start, y start, x step, y step)
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


class PngBroken(Exception):
    """The PNG's structure or compressed pixels are damaged; the message says how."""


@dataclass(frozen=True)
class PngFacts:
    width: int
    height: int
    exif: bytes | None  # the eXIf chunk, wherever it sits (it may follow the pixels)


def png_check(path: Path) -> PngFacts:
    """Walk `path` chunk by chunk, inflating IDAT in bounded blocks; raise PngBroken on any damage."""
    with open(path, "rb") as handle:
        if handle.read(8) != SIGNATURE:
            raise PngBroken("the PNG signature is missing")
        header = None
        exif = None
        inflater = zlib.decompressobj()
        inflated = 0
        while True:
            kind, length = _chunk_head(handle)
            if header is None and kind != b"IHDR":
                raise PngBroken("the first chunk is not IHDR")
            kept = b""
            for piece in _chunk_pieces(handle, kind, length):
                if kind == b"IDAT":
                    inflated += _inflate_count(inflater, piece, room=header[2] - inflated)
                elif kind in (b"IHDR", b"eXIf") and len(kept) < MAX_KEPT:
                    kept += piece
            if kind == b"IHDR":
                header = _header_parse(kept)
            elif kind == b"eXIf":
                exif = kept
            elif kind == b"IEND":
                break
        width, height, expected = header
        if inflated < expected:
            raise PngBroken(f"the pixels inflate to {inflated} bytes, fewer than the {expected} the header announces")
    return PngFacts(width=width, height=height, exif=exif)


def _chunk_head(handle) -> tuple[bytes, int]:
    head = handle.read(8)
    if len(head) < 8:
        raise PngBroken("the file ends before its IEND chunk")
    length, kind = struct.unpack(">I4s", head)
    if length >= 2**31:
        raise PngBroken(f"a chunk declares {length} bytes, more than the format allows")
    return kind, length


def _chunk_pieces(handle, kind: bytes, length: int):
    """The chunk's data in pieces of at most READ_BLOCK bytes, then its CRC checked."""
    crc = zlib.crc32(kind)
    left = length
    while left:
        piece = handle.read(min(READ_BLOCK, left))
        if not piece:
            raise PngBroken("the file ends inside a chunk")
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
        yield piece
    stored = handle.read(4)
    if len(stored) < 4:
        raise PngBroken("the file ends inside a chunk")
    if crc != struct.unpack(">I", stored)[0]:
        raise PngBroken(f"the {kind.decode('latin-1')} chunk fails its checksum")


def _header_parse(data: bytes) -> tuple[int, int, int]:
    """(width, height, inflated bytes the pixels must take) from an IHDR chunk."""
    if len(data) != 13:
        raise PngBroken("the IHDR chunk has the wrong length")
    width, height, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", data)
    if colour not in _CHANNELS or depth not in (1, 2, 4, 8, 16) or interlace not in (0, 1) or not width or not height:
        raise PngBroken("the IHDR chunk holds values the format does not allow")
    bits = _CHANNELS[colour] * depth
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    expected = 0
    for x0, y0, dx, dy in passes:
        columns = (width - x0 + dx - 1) // dx if width > x0 else 0
        rows = (height - y0 + dy - 1) // dy if height > y0 else 0
        if columns and rows:
            expected += rows * (1 + (columns * bits + 7) // 8)  # one filter byte starts each row
    return width, height, expected


def _inflate_count(inflater, data: bytes, *, room: int) -> int:
    """Feed `data` to the inflater and count its output in blocks, stopping once `room` bytes came out.

    Stopping there bounds the time too: a zlib stream inflates up to 1,000-fold, and bytes past the
    image are never read by a decoder anyway.
    """
    count = 0
    try:
        while not inflater.eof and count < room:
            block = inflater.decompress(data, min(INFLATE_BLOCK, room - count))
            data = inflater.unconsumed_tail
            if not block and not data:
                break
            count += len(block)
    except zlib.error as error:
        raise PngBroken(f"the compressed pixels are damaged ({error})") from error
    return count
