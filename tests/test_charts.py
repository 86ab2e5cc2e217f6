"""The digest charts: valid PNGs of the promised size, whatever the data, drawn alike twice."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from datetime import date, timedelta

import pytest

from templates.charts import (
    HEIGHT_PX,
    WIDTH_PX,
    Chart,
    first_response_alt_text,
    first_response_chart,
    volume_alt_text,
    volume_chart,
)
from tests.conftest import PROJECT_ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BUCKETS = ["< 15m", "15m–1h", "1h–4h", "4h–8h", "8h–1d", "> 1d"]


def days_from(start: date, count: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(count)]


def png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, each CRC checked: a truncated or corrupt file fails here."""
    assert png[:8] == PNG_SIGNATURE
    chunks, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + data) == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, data))
        offset += 12 + length
    return chunks


def assert_valid_png(png: bytes) -> None:
    chunks = png_chunks(png)
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == (WIDTH_PX, HEIGHT_PX)
    # No text chunks (software, dates): nothing that differs between two renders.
    assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(kinds)

    from matplotlib.image import imread

    pixels = imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (HEIGHT_PX, WIDTH_PX)
    assert pixels.min() < 0.2 < 0.8 < pixels.max()  # something dark was drawn on white


def test_volume_chart_of_a_week() -> None:
    days = days_from(date(2026, 11, 16), 7)
    png = volume_chart(
        days,
        [12, 15, 9, 20, 11, 3, 2],
        [10, 14, 12, 18, 13, 4, 1],
        [30, 31, 28, 30, 28, 27, 28],
        title="Ticket volume, Mon 16 – Sun 22 Nov 2026",
    )
    assert_valid_png(png)


@pytest.mark.parametrize("count", [1, 2, 10, 11, 14, 15, 28, 31])
def test_volume_chart_works_for_one_to_31_days(count: int) -> None:
    days = days_from(date(2026, 10, 1), count)
    opened = [(i * 7) % 23 for i in range(count)]
    resolved = [(i * 5) % 19 for i in range(count)]
    backlog = [40 + sum(opened[: i + 1]) - sum(resolved[: i + 1]) for i in range(count)]
    assert_valid_png(volume_chart(days, opened, resolved, backlog, title="October 2026"))


def test_charts_of_an_empty_period_are_still_charts() -> None:
    days = days_from(date(2026, 11, 16), 7)
    assert_valid_png(volume_chart(days, [0] * 7, [0] * 7, [0] * 7, title="Quiet week"))
    assert_valid_png(volume_chart(days[:1], [0], [0], [0], title="Quiet day"))
    assert_valid_png(first_response_chart(BUCKETS, [0] * 6, [0] * 6, title="Quiet week"))


def test_first_response_chart_against_the_target() -> None:
    png = first_response_chart(
        BUCKETS, [20, 14, 9, 3, 0, 0], [0, 2, 4, 5, 3, 1], title="First response, week 47"
    )
    assert_valid_png(png)


def test_long_labels_and_titles_fit() -> None:
    labels = [
        "Answered within the first fifteen minutes of business time",
        "15m–1h",
        "Much, much longer than anyone would like to wait for an answer",
    ]
    title = "First response for every queue and every customer, " * 4 + "Mon 16 – Sun 22 Nov"
    assert_valid_png(first_response_chart(labels, [3, 2, 1], [0, 1, 5], title=title))
    days = days_from(date(2026, 11, 16), 7)
    big = [100_000 + i for i in range(7)]
    assert_valid_png(volume_chart(days, big, big, big, title=title))


def test_the_same_data_draws_the_same_bytes() -> None:
    days = days_from(date(2026, 11, 16), 7)
    args = (days, [1, 2, 3, 4, 5, 6, 7], [7, 6, 5, 4, 3, 2, 1], [9, 5, 3, 3, 5, 9, 15])
    assert volume_chart(*args, title="Week") == volume_chart(*args, title="Week")
    fr = (BUCKETS, [5, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5])
    assert first_response_chart(*fr, title="Week") == first_response_chart(*fr, title="Week")


def test_mismatched_series_are_refused() -> None:
    days = days_from(date(2026, 11, 16), 2)
    with pytest.raises(ValueError):
        volume_chart(days, [1], [1, 2], [1, 2], title="x")
    with pytest.raises(ValueError):
        volume_chart([], [], [], [], title="x")
    with pytest.raises(ValueError):
        first_response_chart(["a", "b"], [1, 2], [1], title="x")


def test_alt_texts_say_the_numbers() -> None:
    days = days_from(date(2026, 11, 16), 3)
    text = volume_alt_text(days, [3, 5, 1], [2, 2, 4], [10, 13, 10])
    assert "Mon 16 to Wed 18" in text and "9 opened, 8 resolved" in text
    assert "from 10 to 10 (peak 13)" in text and "Busiest day: Tue 17, 5 opened" in text
    text = first_response_alt_text(["< 15m", "> 1d"], [4, 0], [0, 2])
    assert text.startswith("Time to first response: 4 of 6 within the SLA target (67%).")
    assert "> 1d: 2 (2 missed target)" in text
    assert first_response_alt_text(["a"], [0], [0]) == "No first responses in this period."
    assert len(first_response_alt_text(["x" * 200] * 20, [1] * 20, [1] * 20)) <= 1000
    chart = Chart(filename="volume.png", title="Volume", alt_text=text, png=b"")
    with pytest.raises(AttributeError):
        chart.title = "changed"  # type: ignore[misc]


def test_charts_draw_with_an_unwritable_home_and_without_pyplot() -> None:
    """A container with a read-only home still draws, quietly; nothing imports pyplot, and
    importing the module does not import matplotlib."""
    script = (
        "import sys\n"
        "from datetime import date\n"
        "import templates.charts as charts\n"
        "assert 'matplotlib' not in sys.modules\n"
        "png = charts.volume_chart([date(2026, 11, 16)], [1], [2], [3], title='t')\n"
        "assert png[:8] == b'\\x89PNG\\r\\n\\x1a\\n'\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME")}
    env.update(HOME="/dev/null", XDG_CACHE_HOME="/dev/null", PYTHONPATH=str(PROJECT_ROOT))
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert "Matplotlib created a temporary" not in result.stderr
    assert "mkdir -p failed" not in result.stderr
