"""Multi-scale tile proposals: full coverage, sizes, and the best-region choice."""

from __future__ import annotations

import numpy as np
import pytest

from detector.proposals import best_region, tiles


@pytest.mark.parametrize(("width", "height"), [(2048, 1536), (640, 360), (100, 300)])
def test_tiles_cover_every_pixel_at_each_scale(width: int, height: int) -> None:
    boxes = tiles(width, height, fractions=(0.5, 0.25))
    for fraction in (0.5, 0.25):
        side = int(min(width, height) * fraction)
        cover = np.zeros((height, width), dtype=bool)
        for x, y, w, h in boxes:
            if w == side:
                assert h == side and 0 <= x <= width - w and 0 <= y <= height - h
                cover[y:y + h, x:x + w] = True
        assert cover.all()


def test_tiles_overlap_keeps_a_seam_bear_whole() -> None:
    # A 40-px bear straddling the 1/4 tiles' first seam sits whole inside an overlapping tile.
    boxes = [b for b in tiles(2048, 1536, fractions=(0.25,)) if b[2] == 384]
    bear = (370, 100, 40, 40)
    assert any(x <= bear[0] and bear[0] + bear[2] <= x + w and y <= bear[1]
               and bear[1] + bear[3] <= y + h for x, y, w, h in boxes)


def test_best_region_max_over_whole_and_regions() -> None:
    regions = [(0, 0, 10, 10), (5, 5, 10, 10)]
    assert best_region(0.2, regions, np.array([0.1, 0.7])).region == (5, 5, 10, 10)
    whole = best_region(0.9, regions, np.array([0.1, 0.7]))
    assert whole.region is None and whole.p_bear == 0.9 and whole.n_regions == 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"fractions": (0.0,)}, "fraction"), ({"fractions": (1.5,)}, "fraction"),
    ({"overlap": 1.0}, "overlap"),
])
def test_tiles_bad_options_clear_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tiles(100, 100, **kwargs)  # type: ignore[arg-type]
