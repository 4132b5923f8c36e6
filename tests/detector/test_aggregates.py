from __future__ import annotations

from datetime import timedelta

from detector.aggregates import LUMA_BINS, P_BINS, ScoreAggregator
from detector.testing import T0, make_frame
from kernel.records import Detection


def _det(seq: int, p: float, minutes: float = 0, luma: int = 100, night: bool = False) -> Detection:
    f = make_frame("c1", seq, at=T0 + timedelta(minutes=minutes), value=luma, is_night=night)
    return Detection(frame=f, p_bear=p, model_version="m", inference_ms=1, batch_size=1)


def test_aggregator_counts_per_hour_with_histograms() -> None:
    agg = ScoreAggregator()
    agg.add(_det(0, 0.0, luma=0), above_threshold=False)
    agg.add(_det(1, 1.0, luma=255, night=True), above_threshold=True)
    agg.add(_det(2, 0.52, minutes=61), above_threshold=True)
    rows = agg.flush()
    assert [(r.hour, r.n_frames, r.n_night, r.n_above_threshold) for r in rows] == [
        (T0, 2, 1, 1), (T0 + timedelta(hours=1), 1, 0, 1)]
    first = rows[0]
    assert len(first.p_bear_counts) == P_BINS and len(first.luma_counts) == LUMA_BINS
    assert (first.p_bear_counts[0], first.p_bear_counts[-1]) == (1, 1)
    assert (first.luma_counts[0], first.luma_counts[-1]) == (1, 1)
    assert rows[1].p_bear_counts[10] == 1
    assert agg.flush() == []


def test_aggregator_restore_merges_back_unstored_rows() -> None:
    agg = ScoreAggregator()
    agg.add(_det(0, 0.3), above_threshold=False)
    rows = agg.flush()
    agg.add(_det(1, 0.3), above_threshold=False)
    agg.restore(rows)
    (merged,) = agg.flush()
    assert merged.n_frames == 2 and merged.p_bear_counts[6] == 2
