"""Headless Chromium for the report's browser test: Debian's package, installed by
scripts/install_chromium.sh when missing (as `make browser` does); a failed install fails
the test, naming why. Also a small PNG reader to check that a screenshot is not blank."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

__all__ = ["chromium_path", "dump_dom", "png_pixels", "screenshot"]

INSTALLER = Path(__file__).resolve().parents[1] / "scripts" / "install_chromium.sh"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=5000")  # fmt: skip


def chromium_path() -> str:
    """The chromium binary; installs Debian's package if missing, fails the test if it can't."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    done = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True, timeout=900)
    found = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0 or not found:
        why = (f"chromium is missing and {INSTALLER.name} could not install it "
               f"(exit {done.returncode}): {done.stderr[-1500:]}\nhint: run `make browser` "
               f"as root (apt-get install -y chromium)")  # fmt: skip
        pytest.fail(why, pytrace=False)
    return found


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def dump_dom(browser: str, profile: Path, page: Path) -> str:
    """The page's DOM after its scripts ran (what a reader's browser shows)."""
    done = _run(browser, profile, "--window-size=1200,900", "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(browser: str, profile: Path, page: Path, out: Path, height: int = 3000) -> Path:
    done = _run(browser, profile, f"--window-size=1200,{height}", f"--screenshot={out}",
                page.as_uri())  # fmt: skip
    assert done.returncode == 0 and out.exists(), done.stderr[-2000:]
    return out


def png_pixels(path: Path) -> np.ndarray:
    """RGB(A) pixels of an 8-bit, non-interlaced PNG (what Chromium writes)."""
    blob = path.read_bytes()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(blob):
        length, kind = struct.unpack(">I4s", blob[pos : pos + 8])
        chunk = blob[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    assert header is not None
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and interlace == 0 and color in (2, 6), header
    channels = 3 if color == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * channels)
    rows: list[list[int]] = []
    above = [0] * (width * channels)
    for y in range(height):
        kind, line = int(raw[y, 0]), raw[y, 1:].tolist()
        if kind == 0:
            row = line
        elif kind == 2:
            row = [(a + b) & 0xFF for a, b in zip(line, above, strict=True)]
        else:  # Sub, Average, Paeth read the pixel to the left: one pass along the row
            row = [0] * len(line)
            for x, value in enumerate(line):
                left = row[x - channels] if x >= channels else 0
                if kind == 1:
                    row[x] = (value + left) & 0xFF
                elif kind == 3:
                    row[x] = (value + (left + above[x]) // 2) & 0xFF
                else:
                    up, corner = above[x], above[x - channels] if x >= channels else 0
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                    row[x] = (value + pred) & 0xFF
        rows.append(row)
        above = row
    out = np.array(rows, dtype=np.uint8)
    return out.reshape(height, width, channels)
