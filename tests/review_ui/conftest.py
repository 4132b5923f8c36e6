"""A review UI on a temporary config: its own database (migrated, seeded with a catalog and one
user per role), storage folder with real image files, and $BEARWATCH_CONFIG pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from db import make_engine, make_sessionmaker, migrate
from db.reviews import Reviewer
from kernel.records import Role
from tests.review_ui import builders as b

CONFIG = """\
database:
  url: {url}
storage:
  root: {root}
detector:
  model: builtin  # the pages, not a model, are under test: a fixed 0.5 threshold
zones:
  - id: shadowz
    name: Shadow zone
  - id: pilotz
    name: Pilot zone
cameras:
  - id: cam-s
    name: Shadow cam
    zone: shadowz
    source: "demo:"
    latitude: 51.18
    longitude: -115.57
  - id: cam-p
    name: Pilot cam
    zone: pilotz
    source: "demo:"
notifier:
  webhooks:
    - url: http://127.0.0.1:9/bear-hook
review_ui:
  lease_seconds: 120
  refresh_seconds: 2
  timezone: America/Edmonton
"""
ROLES = [("ann", Role.OPERATOR), ("bob", Role.OPERATOR), ("ada", Role.ADMIN),
         ("ana", Role.ANALYST)]


@dataclass(frozen=True)
class UIEnv:
    config_path: Path
    url: str
    root: Path
    sessions: sessionmaker[Session]
    users: dict[str, Reviewer]


def write_image(path: Path, seed: int) -> Path:
    """A real PNG (a smooth colour field), so st.image and the browser have pixels to show."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:240, 0:320]
    base = rng.integers(0, 255, size=3)
    img = ((base + np.stack([xx, yy, xx + yy], axis=-1) / 4) % 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)
    return path


def make_ui_env(tmp: Path, url: str | None = None) -> UIEnv:
    root = tmp / "var"
    url = url or f"sqlite:///{tmp / 'ui.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    b.catalog(sessions)
    users = b.users(sessions, ROLES)
    for i, name in enumerate(("snap.jpg", "f0.jpg", "f1.jpg", "audit.jpg")):
        write_image(root / "snapshots" / name, i)
    config_path = tmp / "bearwatch.yaml"
    config_path.write_text(CONFIG.format(url=url, root=root))
    return UIEnv(config_path, url, root, sessions, users)


@pytest.fixture
def ui_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UIEnv]:
    env = make_ui_env(tmp_path)
    monkeypatch.setenv("BEARWATCH_CONFIG", str(env.config_path))
    yield env
