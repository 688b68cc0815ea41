"""CRC32C (Castagnoli) as Secret Manager uses for ``dataCrc32c``.

Uses ``google_crc32c`` when installed; otherwise a table-driven pure-Python version (payloads here
are API keys, so speed does not matter).
"""

from __future__ import annotations

__all__ = ["crc32c"]

try:
    import google_crc32c as _native  # type: ignore[import-not-found]
except ImportError:  # the pure-Python fallback below answers the same
    _native = None

_POLY = 0x82F63B78


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()


def _pure_crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def crc32c(data: bytes) -> int:
    """The CRC32C checksum of ``data`` as an unsigned int."""
    if _native is None:
        return _pure_crc32c(data)
    return int(_native.value(data))
