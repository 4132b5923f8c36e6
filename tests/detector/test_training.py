"""`bearwatch train` end to end on a tiny made-up data set: the plumbing (DataBlock, fine_tune,
export, checksum, version row, load_learner in a fresh process), not the model's quality."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from bearwatch.cli import main
from db.alerts import store_alert
from db.catalog import CameraSpec, ZoneSpec, sync
from db.model_versions import list_versions
from db.models import AlertRow, AuditSampleRow
from detector.models import load_model, sha256_of
from detector.testing import write_blob_image
from kernel.config import DetectorConfig
from kernel.records import Alert, EncounterFrame, Stage
from training import TrainItem, TrainOptions, export_model, group_split, train

T0 = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
pytestmark = pytest.mark.plumbing


def _image(path: Path, *, bear: bool, rng: np.random.Generator, size: int = 96) -> Path:
    return write_blob_image(path, bear=bear, rng=rng, size=size)


def _reviews(sessions: sessionmaker[Session], snaps: Path, rng: np.random.Generator) -> None:
    """A reviewed bear alert (snapshot + one frame), a no_bear audit sample, and an unsure
    alert that must be left out."""
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z1", "Z1", Stage.SHADOW)],
             [CameraSpec("c1", "C1", "z1", "demo:", None, None)], now=T0)
        for verdict, name in (("bear", "alert_bear"), ("unsure", "alert_unsure")):
            snap = _image(snaps / f"{name}.jpg", bear=True, rng=rng)
            frame = _image(snaps / f"{name}_f1.jpg", bear=True, rng=rng)
            alert = Alert(camera_id="c1", zone_id="z1", first_seen=T0, last_seen=T0,
                          peak_p_bear=0.8, n_frames=2, is_night=False,
                          snapshot_path=snap.name, stage=Stage.SHADOW, model_version="builtin",
                          id=uuid.uuid4())
            store_alert(s, alert, [EncounterFrame(1, T0, 0.7, str(frame))], now=T0)
            s.flush()
            row = s.get(AlertRow, alert.id)
            assert row is not None
            row.review_state, row.verdict = "reviewed", verdict
        s.add(AuditSampleRow(camera_id="c1", zone_id="z1", captured_at=T0 + timedelta(hours=2),
                          p_bear=0.1, sampling_prob=0.5, is_night=True, is_infrared=False,
                          image_path=str(_image(snaps / "audit.jpg", bear=False, rng=rng)),
                          model_version="builtin", review_state="reviewed", verdict="no_bear"))


def test_train_tiny_set_exports_checksummed_model_loadable_in_fresh_process(
        sessions: sessionmaker[Session], db_url: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    for k in "abcdef":  # letters, not numbers: each image is its own group
        _image(data / "bear" / f"bear_{k}.jpg", bear=True, rng=rng)
        _image(data / "no_bear" / "night" / f"empty_{k}.jpg", bear=False, rng=rng)
    storage = tmp_path / "var"
    _reviews(sessions, storage / "snapshots", rng)
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  url: {json.dumps(db_url)}\nstorage:\n  root: {storage}\n")

    rc = main(["--config", str(config), "train", str(data), "--recipe", "fastai", "--epochs", "1",
               "--size", "64", "--batch-size", "4", "--valid-pct", "0.3", "--seed", "1"])

    assert rc == 0
    with sessions() as s:
        (version,) = list_versions(s)
    pkl = Path(str(version.path))
    assert pkl.parent == (storage / "models").resolve() and pkl.name == f"{version.id}.pkl"
    assert version.sha256 == sha256_of(pkl) and version.id.endswith(version.sha256[:8])
    counts = version.training_counts
    n_db = sum(counts[side].get(f"source/{src}", 0) for side in ("train", "valid")
               for src in ("alert", "audit"))
    assert n_db == 3  # bear snapshot + its frame + the audit sample; 'unsure' left out
    assert counts["train"]["bear"] + counts["valid"]["bear"] == 8
    assert version.metrics["n_valid"] >= 2 and "score" in version.metrics["reference"]
    assert 0.0 <= version.metrics["learner_valid_accuracy"] <= 1.0  # fastai's own view, kept
    split = json.loads((pkl.parent / f"{version.id}.split.json").read_text())
    assert len(split["valid"]) == version.metrics["n_valid"]
    probe = _image(tmp_path / "probe.jpg", bear=True, rng=rng)
    script = (
        "import sys, numpy as np; from pathlib import Path; from PIL import Image\n"
        "from fastai.learner import load_learner\n"
        "from kernel.config import DetectorConfig\n"
        "from detector.models import load_model\n"
        "pkl = Path(sys.argv[1])\n"
        "print(list(load_learner(pkl).dls.vocab))\n"
        "model = load_model(DetectorConfig(model=pkl.name, model_sha256=sys.argv[3]), "
        "models_dir=pkl.parent, device='cpu')\n"
        "print(model.spec.size, model.spec.method, model.version)\n"
        "print(float(model.score_images([np.asarray(Image.open(sys.argv[2]).convert('RGB'))])[0]))\n")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", script, str(pkl), str(probe),
                          str(version.sha256)],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    vocab, spec, p_bear = out.strip().splitlines()[-3:]
    assert spec == f"64 squish {version.id}"  # served at the size and resize it was measured at
    assert vocab == "['bear', 'no_bear']" and 0.0 <= float(p_bear) <= 1.0


def test_train_new_head_exports_and_serves_at_training_size(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    items = [TrainItem(path=_image(tmp_path / f"{label}_{k}.jpg", bear=label == "bear", rng=rng),
                       label=label, light="day", group=f"{label}{k}", source="folder",
                       ref=f"{label}_{k}")
             for label in ("bear", "no_bear") for k in "abcde"]
    split = group_split(items, valid_pct=0.3, seed=0)
    options = TrainOptions(seed=0, epochs=1, freeze_epochs=0, size=64, batch_size=4, head="new")

    result = train(items, split, options, work_dir=tmp_path / "out")
    exported = export_model(result, tmp_path / "models", clock=lambda: T0)

    assert exported.version == f"bw-20260701-030000-{exported.sha256[:8]}"
    assert result.valid_p_bear.shape == (len(split.valid),)
    model = load_model(DetectorConfig(model=exported.path.name, model_sha256=exported.sha256),
                       models_dir=exported.path.parent, device="cpu")
    assert (model.spec.size, model.spec.method) == (64, "squish")
    scores = model.score_images([np.asarray(Image.open(it.path)) for it in items[:3]])
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))
