"""Numbers as people read them on the Reports and Rollout pages: a rate with its counts and
interval (`9.5 % · 4 of 42 · 95 % CI 3.8–22 %`), durations (`25 min`), camera time, progress
toward a gate (`12 of 20 reviews`), and `—` where there is nothing to show.

Percentages keep about two significant figures (`9.5`, `3.8`, `22`): enough to compare with a
gate's maximum, no false precision from a few dozen reviews. The CSV downloads keep the raw
numbers.
"""

from __future__ import annotations

from kernel.intervals import Rate

NONE = "—"
"""What a figure with nothing to show reads (no data, no latency yet)."""


def percent(fraction: float) -> str:
    """0..1 as a percentage: `9.5`, `22`, `0.4`, `0`, `100` (the caller adds ` %`)."""
    value = 100.0 * fraction
    if value < 0.05 or value >= 9.95:  # a bound of 1e-17 (float noise) reads 0, not 0.0
        return f"{value:.0f}"
    return f"{value:.1f}"


def count(x: float) -> str:
    """A count, with thousands separated; a weighted (fractional) one with one decimal."""
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.1f}"


def rate_text(rate: Rate) -> str:
    """`9.5 % · 4 of 42 · 95 % CI 3.8–22 %`; `— · 0 of 0` without a denominator (nothing to
    estimate; the counts still say why)."""
    counts = f"{count(rate.numerator)} of {count(rate.denominator)}"
    if rate.value is None:
        return f"{NONE} · {counts}"
    return (f"{percent(rate.value)} % · {counts} · "
            f"95 % CI {percent(rate.low)}–{percent(rate.high)} %")


def rate_headline(rate: Rate) -> str:
    """The rate alone, for a headline card (`9.5 %`, or `—`)."""
    return NONE if rate.value is None else f"{percent(rate.value)} %"


def duration_text(seconds: float | None) -> str:
    """`45 s`, `25 min`, `3 h 20 min`, `2 d 4 h`; `—` for None."""
    if seconds is None:
        return NONE
    s = max(0.0, seconds)
    if s < 59.5:
        return f"{s:.0f} s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h" + (f" {mins} min" if mins else "")
    days, hours = divmod(round(s / 3600), 24)
    return f"{days} d" + (f" {hours} h" if hours else "")


def camera_time_text(days: float) -> str:
    """Online camera time: `12.5 days`, `1.0 day`, under a day as a duration (`1 h`); `—`
    for none."""
    if days <= 0:
        return NONE
    if days < 1:
        return duration_text(days * 86400.0)
    return f"{days:.1f} day" + ("" if round(days, 1) == 1 else "s")


def per_day_text(x: float | None) -> str:
    """Alerts per camera-day: `2.4`, `0.05`; `—` without camera time."""
    if x is None:
        return NONE
    return f"{x:.2f}" if x < 1 else f"{x:,.1f}"


def progress_text(have: float, need: int, noun: str) -> str:
    """Progress toward what a gate needs: `12 of 20 reviews`, `25 of 20 reviews (enough)`."""
    done = " (enough)" if have >= need else ""
    return f"{count(have)} of {count(need)} {noun}{done}"
