"""Hostile model files: a pickle where safetensors weights are expected (refused, never
unpickled), a wrong checksum, a truncated file, random bytes, a crafted head. Each is a
`ModelLoadError` naming the file and the fix; the marker a pickle would write never appears."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from detector.models import ModelLoadError, load_model, sha256_of
from kernel.config import DetectorConfig


class _Payload:
    """Unpickling this writes a marker file: proof that a loader ran the pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path, str]]:
        return (Path.write_text, (self.marker, "pickle ran"))  # type: ignore[return-value]


def _cfg(name: str, sha: str | None = None) -> DetectorConfig:
    return DetectorConfig(model=name, model_sha256=sha, device="cpu")


def _head_bytes(tmp: Path, *, metadata: dict[str, str] | None = None,
                shape: int = 1280) -> bytes:
    path = tmp / "scratch.safetensors"
    tensors = {k: torch.zeros(shape) for k in ("mean", "scale", "weight")}
    tensors |= {"zero_shot_weight": torch.ones(1), "bias": torch.zeros(1)}
    save_file(tensors, str(path), metadata={"format": "bearwatch-head-v1", **(metadata or {})})
    return path.read_bytes()


def _load(models: Path, name: str, data: bytes, sha: str | None = None) -> ModelLoadError:
    (models / name).write_bytes(data)
    with pytest.raises(ModelLoadError) as info:
        load_model(_cfg(name, sha), models_dir=models)
    assert str(models / name) in str(info.value), info.value
    return info.value


@pytest.mark.parametrize("name", ["weights.safetensors", "weights.pkl"])
def test_pickle_payload_refused_never_unpickled(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "marker.txt"
    payload = pickle.dumps(_Payload(marker))
    pickle.loads(payload)  # the payload is live: unpickling it does write the marker
    assert marker.read_text() == "pickle ran"
    marker.unlink()
    err = _load(tmp_path, name, payload)  # .pkl: no checksum recorded, so never opened
    assert "not a safetensors head file" in str(err) or "no checksum recorded" in str(err)
    assert "make model" in str(err) or "detector.model_sha256" in str(err)
    _load(tmp_path, name, payload, sha="0" * 64)  # a checksum that does not match
    assert not marker.exists()


def test_torch_save_pickle_as_safetensors_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    path = tmp_path / "torch.safetensors"
    torch.save({"mean": torch.zeros(1280), "evil": _Payload(marker)}, path)
    err = _load(tmp_path, path.name, path.read_bytes())
    assert "not a safetensors head file" in str(err) and "make model" in str(err)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["head.safetensors", "export.pkl"])
def test_wrong_checksum_refused_naming_both_and_fix(tmp_path: Path, name: str) -> None:
    data = _head_bytes(tmp_path)
    err = _load(tmp_path, name, data, sha="a" * 64)
    assert f"has sha256 {hashlib.sha256(data).hexdigest()}, expected {'a' * 64}" in str(err)
    assert "fix detector.model_sha256" in str(err)


@pytest.mark.parametrize(
    ("metadata", "shape", "problem"),
    [
        ({"threshold": "not-a-number"}, 1280, "bad contents .*could not convert"),
        ({"threshold": "7"}, 1280, "bad contents .*threshold must be within 0..1"),
        ({"false_alarm_budget": "x"}, 1280, "bad contents"),
        ({}, 3, r"bad contents .*shape \(1280,\)"),
        ({"format": "other"}, 1280, "not a bearwatch-head-v1 head"),
    ],
)
def test_crafted_safetensors_head_clear_error(tmp_path: Path, metadata: dict[str, str],
                                              shape: int, problem: str) -> None:
    err = _load(tmp_path, "crafted.safetensors", _head_bytes(tmp_path, metadata=metadata,
                                                              shape=shape))
    assert "make model" in str(err)
    with pytest.raises(ModelLoadError, match=problem):
        raise err


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_truncated_head_model_load_error(tmp_path: Path, data: st.DataObject) -> None:
    full = _head_bytes(tmp_path)
    cut = data.draw(st.integers(min_value=0, max_value=len(full) - 1))
    err = _load(tmp_path, "cut.safetensors", full[:cut])
    assert "make model" in str(err)


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=512), st.sampled_from(["random.safetensors", "random.pkl"]))
def test_random_bytes_model_load_error_naming_file_and_fix(tmp_path: Path, blob: bytes,
                                                           name: str) -> None:
    (tmp_path / name).write_bytes(blob)
    sha = sha256_of(tmp_path / name)  # the checksum matches: the .pkl is really opened
    with pytest.raises(ModelLoadError) as info:
        load_model(_cfg(name, sha), models_dir=tmp_path)
    text = str(info.value)
    assert str(tmp_path / name) in text
    assert any(fix in text for fix in ("make model", "learn.export()")), text


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=400), st.binary(max_size=300))
def test_safetensors_random_header_model_load_error(tmp_path: Path, size: int,
                                                    rest: bytes) -> None:
    # A header length that may fit the file, then random (mostly non-JSON) header bytes.
    err = _load(tmp_path, "hdr.safetensors", size.to_bytes(8, "little") + rest)
    assert "make model" in str(err)
