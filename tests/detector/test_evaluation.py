from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bearwatch.cli import main
from detector import EvalDataError, LabelledImage, evaluate, load_labelled_set
from detector.evaluation import threshold_for_recall


def _items(spec: list[tuple[bool, str]]) -> list[LabelledImage]:
    return [LabelledImage(Path(f"{i}.jpg"), bear, light, f"{i}.jpg") for i, (bear, light) in enumerate(spec)]


def test_evaluate_hand_computed_figures() -> None:
    items = _items([(True, "day"), (True, "day"), (True, "night"), (False, "day"),
                    (False, "night"), (False, "night")])
    scores = [0.9, 0.2, 0.6, 0.7, 0.1, 0.05]
    r = evaluate(items, scores, threshold=0.5, model_version="m", n_worst=2)
    o = r.overall
    assert (o.tp, o.fn, o.fp, o.tn) == (2, 1, 1, 2)
    assert o.recall == pytest.approx(2 / 3) and o.precision == pytest.approx(2 / 3)
    assert o.false_alarm_rate == pytest.approx(1 / 3)
    assert (r.by_light["day"].n_bear, r.by_light["day"].recall) == (2, 0.5)
    assert (r.by_light["night"].recall, r.by_light["night"].false_alarm_rate) == (1.0, 0.0)
    assert [m.file for m in r.worst] == ["1.jpg", "3.jpg"]  # errors 0.8 and 0.7
    doc = r.to_json()
    assert {"threshold", "overall", "by_light", "confusion", "threshold_for_recall_95",
            "worst"} <= set(doc)
    assert doc["confusion"]["matrix"] == [[2, 1], [1, 2]]
    assert set(doc["by_light"]["day"]) == {"n_bear", "n_no_bear", "recall", "precision",
                                           "false_alarm_rate"}


@pytest.mark.parametrize(
    ("bear_scores", "expected"),
    [
        ([0.9, 0.8, 0.7], 0.7),  # 95 % of 3 needs all 3
        ([0.9] * 19 + [0.1], 0.9),  # 19 of 20 is exactly 95 %
        ([0.9] * 18 + [0.3, 0.1], 0.3),  # 19 of 20: the 19th best score
    ],
)
def test_threshold_for_recall_95_is_highest_reaching_it(bear_scores: list[float],
                                                        expected: float) -> None:
    truth = np.array([True] * len(bear_scores) + [False, False])
    scores = np.array(bear_scores + [0.95, 0.05])
    point = threshold_for_recall(truth, scores)
    assert point is not None
    assert point.threshold == pytest.approx(expected)
    assert point.recall >= 0.95
    assert point.false_alarm_rate == 0.5


def test_load_labelled_set_folder_layout_with_night_and_skips(tmp_path: Path) -> None:
    for rel in ("bear/a.jpg", "bear/night/b.png", "no_bear/c.jpg", "no_bear/clip.mp4"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    items, skipped = load_labelled_set(tmp_path)
    assert [(i.name, i.is_bear, i.light) for i in items] == [
        ("bear/a.jpg", True, "day"), ("bear/night/b.png", True, "night"), ("no_bear/c.jpg", False, "day")]
    assert skipped == ["no_bear/clip.mp4: not an image"]


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (None, "neither manifest.csv nor bear/"),
        ("file,label,light\nx.jpg,grizzly,day\n", "label must be 'bear' or 'no_bear'"),
        ("file,label,light\nmissing.jpg,bear,day\n", "does not exist"),
        ("name,kind\nx.jpg,bear\n", "needs columns file,label"),
    ],
)
def test_load_labelled_set_bad_input_clear_error(tmp_path: Path, manifest: str | None,
                                                 message: str) -> None:
    (tmp_path / "x.jpg").write_bytes(b"x")
    if manifest is not None:
        (tmp_path / "manifest.csv").write_text(manifest)
    with pytest.raises(EvalDataError, match=message):
        load_labelled_set(tmp_path)


@pytest.mark.data
def test_eval_command_real_photos_writes_json(bears_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "set"
    rows = ["file,label,light"]
    for sub, label, light in (("bear/day", "bear", "day"), ("no_bear/day", "no_bear", "day"),
                              ("no_bear/night", "no_bear", "night")):
        for src in sorted((bears_dir / "images" / sub).glob("*.jpg"))[:3]:
            dst = data / sub / src.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dst)
            rows.append(f"{sub}/{src.name},{label},{light}")
    (data / "manifest.csv").write_text("\n".join(rows) + "\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"storage:\n  root: {tmp_path / 'var'}\ndetector:\n  device: cpu\n")
    out = tmp_path / "eval.json"
    assert main(["--config", str(cfg), "eval", str(data), "--json", str(out), "--threshold", "0.3"]) == 0
    doc = json.loads(out.read_text())
    assert doc["threshold"] == 0.3 and doc["n_images"] == 9
    assert (doc["overall"]["n_bear"], doc["overall"]["n_no_bear"]) == (3, 6)
    assert doc["by_light"]["night"]["n_no_bear"] == 3
    assert sum(doc["confusion"]["matrix"][0]) == 3
