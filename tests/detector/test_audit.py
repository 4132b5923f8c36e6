from __future__ import annotations

import random

import pytest

from detector import AuditSampler


def _sampler(share: float = 0.01, boost: float = 5.0, seed: int = 7) -> AuditSampler:
    return AuditSampler(share=share, near_boost=boost, near_band=0.1, rng=random.Random(seed))


def test_sampler_zero_share_never_samples() -> None:
    s = _sampler(share=0.0)
    assert all(s.draw(0.5, 0.5, False) is None for _ in range(1000))


def test_sampler_near_threshold_oversampled_by_boost() -> None:
    s = _sampler()
    for _ in range(200):
        s.draw(0.05, 0.5, False)
    far, near = s.probability(0.05, 0.5, False), s.probability(0.45, 0.5, False)
    assert near == pytest.approx(5 * far)
    assert 0 < far <= near <= 1


@pytest.mark.parametrize("is_night", [False, True])
def test_sampler_expected_share_per_stratum_matches_config(is_night: bool) -> None:
    s = _sampler(share=0.05, seed=11)
    rng = random.Random(3)
    n, expected = 20_000, 0.0
    sampled = 0
    for _ in range(n):
        # 10 % of frames near the threshold, the rest far below it
        p = 0.5 + rng.uniform(-0.05, 0.05) if rng.random() < 0.1 else rng.uniform(0.0, 0.2)
        expected += s.probability(p, 0.5, is_night)
        sampled += s.draw(p, 0.5, is_night) is not None
    assert expected / n == pytest.approx(0.05, rel=0.05)
    assert sampled / n == pytest.approx(0.05, rel=0.15)


def test_sampler_returned_probability_is_the_one_used() -> None:
    s = _sampler(share=1.0)
    got = [s.draw(0.1, 0.5, True) for _ in range(50)]
    assert all(p == 1.0 for p in got)
