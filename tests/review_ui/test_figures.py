"""The formatters people read figures through (`review_ui.figures`)."""

from __future__ import annotations

import pytest

from kernel.intervals import Rate
from review_ui.figures import (
    NONE,
    camera_time_text,
    count,
    duration_text,
    per_day_text,
    percent,
    progress_text,
    rate_headline,
    rate_text,
)


@pytest.mark.parametrize(("fraction", "expected"), [
    (0.0, "0"), (0.0952, "9.5"), (0.004, "0.4"), (0.0996, "10"), (0.2206, "22"),
    (1.0, "100"), (0.0377, "3.8"), (1e-17, "0"), (0.0004, "0"), (0.0006, "0.1"),
])
def test_percent_two_significant_figures(fraction: float, expected: str) -> None:
    assert percent(fraction) == expected


def test_rate_text_shows_value_counts_and_interval() -> None:
    assert rate_text(Rate.of(4, 42)) == "9.5 % · 4 of 42 · 95 % CI 3.8–22 %"


def test_rate_text_without_denominator_is_a_dash_with_counts() -> None:
    assert rate_text(Rate.of(0, 0)) == f"{NONE} · 0 of 0"
    assert rate_headline(Rate.of(0, 0)) == NONE
    assert rate_headline(Rate.of(1, 8)) == "12 %"


def test_rate_text_weighted_counts_keep_one_decimal() -> None:
    r = Rate.weighted(2.5, 10.5, sum_w=10.5, sum_w2=20.0)
    assert rate_text(r).startswith("24 % · 2.5 of 10.5 · 95 % CI ")


@pytest.mark.parametrize(("seconds", "expected"), [
    (None, NONE), (0, "0 s"), (45.2, "45 s"), (59.6, "1 min"), (25 * 60 + 10, "25 min"),
    (3600, "1 h"), (3 * 3600 + 20 * 60, "3 h 20 min"), (2 * 86400 + 4 * 3600, "2 d 4 h"),
    (3 * 86400, "3 d"),
])
def test_duration_text(seconds: float | None, expected: str) -> None:
    assert duration_text(seconds) == expected


@pytest.mark.parametrize(("days", "expected"), [
    (0.0, NONE), (1 / 24, "1 h"), (1.0, "1.0 day"), (12.46, "12.5 days"),
])
def test_camera_time_text(days: float, expected: str) -> None:
    assert camera_time_text(days) == expected


@pytest.mark.parametrize(("x", "expected"), [(None, NONE), (0.05, "0.05"), (2.44, "2.4"),
                                             (1234.5, "1,234.5")])
def test_per_day_text(x: float | None, expected: str) -> None:
    assert per_day_text(x) == expected


def test_count_and_progress_text() -> None:
    assert count(12345) == "12,345" and count(2.5) == "2.5"
    assert progress_text(12, 20, "reviews") == "12 of 20 reviews"
    assert progress_text(25, 20, "reviews") == "25 of 20 reviews (enough)"
