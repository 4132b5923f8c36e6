"""`storage:` — the one folder that holds snapshots, the spool and model files."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from kernel.config.base import Section


class StorageConfig(Section):
    root: Path = Field(Path("./var"), description="Folder for snapshots, spool and models.")

    @field_validator("root")
    @classmethod
    def _a_folder(cls, root: Path) -> Path:
        """Created when missing; a file in its place fails `config check`, not a page's write."""
        if root.exists() and not root.is_dir():
            raise ValueError(f"{str(root)!r} exists and is not a folder; point storage.root at a "
                             "folder (it is created when missing)")
        return root

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "snapshots"

    @property
    def spool_dir(self) -> Path:
        return self.root / "spool"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"
