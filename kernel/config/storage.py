"""`storage:` — the one folder that holds snapshots, the spool and model files."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from kernel.config.base import Section


class StorageConfig(Section):
    root: Path = Field(Path("./var"), description="Folder for snapshots, spool and models.")

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "snapshots"

    @property
    def spool_dir(self) -> Path:
        return self.root / "spool"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"
