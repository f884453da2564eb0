"""The HTML reports in a real headless Chromium (Debian's package; `.ci/run` installs it):
the page loads without console errors, every image decodes, and a screenshot is written.

No skip: a machine without chromium FAILS here (install it: `apt-get install chromium`).
Screenshots go to build/screenshots/ (or $IMU_SCREENSHOT_DIR) for a person to look at.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from imu.analysis import analyze
from imu.render.html import write_report
from imu.testing.browser import BrowserMissing, check_page, find_chromium

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
SHOTS = Path(os.environ.get("IMU_SCREENSHOT_DIR", ROOT / "build" / "screenshots"))

pytestmark = pytest.mark.timeout(300)


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_chromium_is_installed() -> None:
    """Fails (never skips) without a browser: the report check below needs one."""
    try:
        path = find_chromium()
    except BrowserMissing as exc:
        pytest.fail(f"{exc} (.ci/run installs it before make test)")
    assert Path(path).exists()


@pytest.mark.parametrize(
    ("name", "raw", "expect", "n_images"),
    [
        ("bridge", "bridge_session.raw.parquet", ["Strength: verdict", "reached posterior tilt"],
         3),
        ("run", "run_session.raw.parquet", ["Run: verdict", "left side sinking during right-leg"],
         2),
    ],
)
def test_report_in_a_real_browser(
    tmp_path: Path, name: str, raw: str, expect: list[str], n_images: int
) -> None:
    folder = analyze(DEMO / raw).write(tmp_path / "out")
    page = write_report(folder, tmp_path / f"{name}.html")
    text = page.read_text()
    for words in expect:
        assert words in text
    shot = SHOTS / f"report_{name}.png"
    shot.unlink(missing_ok=True)
    check = check_page(page, shot)
    print(f"screenshot: {shot}")
    assert check.console_errors == []
    assert len(check.images) == n_images
    assert check.broken_images == [], check.images
    for img in check.images:
        assert img["naturalWidth"] > 300 and img["naturalHeight"] > 150
    assert check.title.startswith("Glute bridge session" if name == "bridge" else "Run,")
    width, height = _png_size(shot)
    assert width >= 1000 and height >= 1500  # the whole page, not just the first screen
    assert check.height_px >= 1500


def test_a_broken_page_is_caught(tmp_path: Path) -> None:
    """The check can fail: a script error and an image that does not decode are reported."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>x</title></head><body>"
        '<img src="data:image/png;base64,AAAA" alt="bad">'
        "<script>console.error('boom'); undefinedFunction();</script></body></html>"
    )
    check = check_page(page, tmp_path / "broken.png")
    assert any("boom" in e for e in check.console_errors)
    assert any("undefinedFunction" in e for e in check.console_errors)
    assert len(check.broken_images) == 1
