"""Draws the Watchbook PNG icons (192, 512, maskable 512) with the stdlib only.

Run once: `python pwa/icons/draw.py`; the PNGs are committed. Mirrors icon.svg: a white
warning triangle with an exclamation mark on fire-service red. Not served (shell skips .py).
"""

import struct
import zlib
from pathlib import Path

RED, WHITE = (139, 26, 26), (255, 255, 255)


def inside_triangle(x: float, y: float, s: float) -> bool:
    ax, ay, bx, by, cx, cy = (0.5, 0.2, 0.2, 0.76, 0.8, 0.76)
    ax, ay, bx, by, cx, cy = (0.5 + (v - 0.5) * s for v in (ax, ay, bx, by, cx, cy))

    def side(px: float, py: float, qx: float, qy: float) -> float:
        return (qx - px) * (y - py) - (qy - py) * (x - px)
    d1, d2, d3 = side(ax, ay, bx, by), side(bx, by, cx, cy), side(cx, cy, ax, ay)
    return (d1 >= 0 and d2 >= 0 and d3 >= 0) or (d1 <= 0 and d2 <= 0 and d3 <= 0)


def colour_at(x: float, y: float, maskable: bool) -> tuple[int, int, int, int]:
    s = 0.8 if maskable else 1.0
    if not maskable:  # rounded square with radius 0.18
        r = 0.18
        dx, dy = max(r - x, 0, x - (1 - r)), max(r - y, 0, y - (1 - r))
        if dx * dx + dy * dy > r * r:
            return (0, 0, 0, 0)
    ux, uy = 0.5 + (x - 0.5) / s, 0.5 + (y - 0.5) / s
    if inside_triangle(x, y, s):
        bar = 0.47 <= ux <= 0.53 and 0.38 <= uy <= 0.6
        dot = (ux - 0.5) ** 2 + (uy - 0.67) ** 2 <= 0.035 ** 2
        return (*RED, 255) if bar or dot else (*WHITE, 255)
    return (*RED, 255)


def draw(size: int, maskable: bool, n: int = 3) -> bytes:
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(n):
                for sx in range(n):
                    c = colour_at((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size,
                                  maskable)
                    for i in range(4):
                        acc[i] += c[i]
            row += bytes(v // (n * n) for v in acc)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


if __name__ == "__main__":
    here = Path(__file__).parent
    (here / "icon-192.png").write_bytes(draw(192, False))
    (here / "icon-512.png").write_bytes(draw(512, False))
    (here / "maskable-512.png").write_bytes(draw(512, True))
