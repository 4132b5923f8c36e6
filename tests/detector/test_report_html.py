"""The static HTML evaluation report: figures side by side, charts and thumbnails inline."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training import (
    HeldOut,
    HeldOutComparison,
    LabelledImage,
    evaluate,
    model_report,
    recall_at_equal_false_alarms,
    render_eval,
    render_report,
)


def _heldout(tmp_path: Path) -> HeldOut:
    rng = np.random.default_rng(0)
    labels = [True, True, True, False, False, False, False, True]
    lights = ["day", "day", "night", "day", "night", "night", "day", "day"]
    paths = []
    for i in range(len(labels)):
        p = tmp_path / f"img{i}.jpg"
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return HeldOut(refs=tuple(f"img{i}.jpg" for i in range(8)), paths=tuple(paths),
                   is_bear=np.array(labels), light=np.array(lights),
                   infrared=np.array([False, False, True, False, True, False, False, False]))


def _doc(heldout: HeldOut) -> HeldOutComparison:
    good = np.array([0.9, 0.8, 0.7, 0.1, 0.6, 0.2, 0.3, 0.4])  # 3 tp, 1 fn, 1 fp, 3 tn
    weak = np.array([0.6, 0.2, 0.1, 0.7, 0.8, 0.1, 0.1, 0.3])  # 1 tp, 3 fn, 2 fp, 2 tn
    scores = {"bw-new": good, "builtin": weak}
    return HeldOutComparison(
        split="x.split.json", candidate=model_report(heldout, good, version="bw-new"),
        baseline=model_report(heldout, weak, version="builtin"),
        recall_at_equal_false_alarm_rate=recall_at_equal_false_alarms(heldout, scores))


def test_render_report_shows_both_models_confusions_and_inline_images(tmp_path: Path) -> None:
    heldout = _heldout(tmp_path)
    page = render_report(heldout, _doc(heldout))

    assert page.startswith("<!doctype html>") and page.endswith("</body></html>")
    assert "bw-new" in page and "builtin" in page
    cells = re.findall(r"<td class=(?:good|bad)>(\d+)</td>", page)
    assert cells == ["3", "1", "1", "3", "1", "3", "2", "2"]  # tp fn fp tn per model
    assert "0.750 <span class=ci>(3/4)" in page  # candidate recall with its counts
    assert page.count("data:image/png;base64,") == 1  # the PR chart
    assert page.count("data:image/jpeg;base64,") == 16  # 8 top losses per model
    for light in ("day", "night", "infrared"):
        assert f"<td class=l>{light} " in page
    assert "http" not in page  # static and self-contained


def test_render_report_scores_of_other_split_clear_error(tmp_path: Path) -> None:
    heldout = _heldout(tmp_path)
    doc = _doc(heldout)
    assert doc.baseline is not None
    doc = replace(doc, baseline=replace(doc.baseline, p_bear=(0.5,)))
    with pytest.raises(ValueError, match="same split"):
        render_report(heldout, doc)


def test_render_eval_one_model_or_two_side_by_side(tmp_path: Path) -> None:
    heldout = _heldout(tmp_path)
    images = [LabelledImage(path=p, is_bear=bool(b), light=str(lt), name=r)
              for p, b, lt, r in zip(heldout.paths, heldout.is_bear, heldout.light, heldout.refs,
                                     strict=True)]
    doc = _doc(heldout)
    assert doc.baseline is not None
    new = evaluate(images, doc.candidate.p_bear, threshold=0.5, model_version="bw-new")
    old = evaluate(images, doc.baseline.p_bear, threshold=0.5, model_version="builtin")

    alone = render_eval(new)
    assert "bw-new" in alone and "builtin" not in alone
    assert alone.count("data:image/jpeg;base64,") == 8
    both = render_eval(new, old)
    assert re.findall(r"<td class=(?:good|bad)>(\d+)</td>", both) == \
        ["3", "1", "1", "3", "1", "3", "2", "2"]
    with pytest.raises(ValueError, match="same set"):
        render_eval(new, evaluate(images[:4], [0.5] * 4, threshold=0.5, model_version="x"))
