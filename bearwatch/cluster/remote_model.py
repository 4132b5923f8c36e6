"""The replicas behind the `Model` seam: `ServeModel` is a `detector.models.Model` whose
forward pass runs on the Ray Serve deployment, and `ServeLoad` loads a version there (the
`ModelLoad` that `Pipeline` takes), so the loop, its region proposals, the shadow scorer and
the promoted models work exactly as on one box.

Each image is one request; the replica's `@serve.batch` joins requests from the whole
centre into its batches. A request that fails because its replica died (or answers nothing
within `cluster.request_timeout_s`) is sent again, up to `cluster.request_retries` times:
scoring is a pure function of the image, so a retry can only repeat a score, and the tracker
that turns scores into alerts lives here, in one process, so it never sees a frame twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from ray.exceptions import RayError
from ray.serve.handle import DeploymentHandle, DeploymentResponse

from bearwatch.cluster.records import LoadedModel, ModelSpec, ScoreReply, ScoreRequest
from detector.models import ModelLoadError
from kernel.config import ClusterConfig, DetectorConfig
from kernel.errors import BearwatchError
from kernel.records import Frame

log = logging.getLogger("bearwatch.cluster")


class ReplicasUnavailable(BearwatchError):
    """The deployment did not score an image after every retry."""


def _retryable(exc: BaseException) -> bool:
    # A ModelLoadError raised on the replica arrives as a RayTaskError that is also a
    # ModelLoadError: the same file fails on every replica, so it is not retried.
    return isinstance(exc, RayError | TimeoutError) and not isinstance(exc, ModelLoadError)


class ServeModel:
    """A model version served by the detector deployment.

    Args:
        handle: the deployment's handle.
        spec: the version, as every replica loads it.
        loaded: its version and device, as the first replica to load it answered.
        cluster: the retry settings.
    """

    def __init__(self, handle: DeploymentHandle, spec: ModelSpec, loaded: LoadedModel,
                 cluster: ClusterConfig) -> None:
        self.handle = handle  # `score` of the deployment's handle
        self.spec = spec
        self.version = loaded.version
        self.device = torch.device(loaded.device)
        self.timeout_s = cluster.request_timeout_s
        self.retries = cluster.request_retries
        self.served_by: Counter[str] = Counter()
        self.retried = 0

    def score(self, frames: Sequence[Frame]) -> np.ndarray:
        return self.score_images([f.image for f in frames])

    def score_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(images),), dtype=np.float32)
        todo = list(range(len(images)))
        for attempt in range(self.retries + 1):
            sent = {i: self._send(images[i]) for i in todo}
            todo = []
            for i, response in sent.items():
                try:
                    reply: ScoreReply = response.result(timeout_s=self.timeout_s)
                except Exception as exc:
                    if not _retryable(exc):
                        raise
                    todo.append(i)
                    last = exc
                    continue
                out[i] = reply.p_bear
                self.served_by[reply.replica] += 1
            if not todo:
                return out
            self.retried += len(todo)
            log.warning("frames re-sent: replica failed", extra={
                "frames": len(todo), "attempt": attempt + 1,
                "error": str(last).splitlines()[0] if str(last) else repr(last)})
        raise ReplicasUnavailable(
            f"the detector deployment scored no answer for {len(todo)} image(s) after "
            f"{self.retries + 1} tries ({last!r}); check `ray status` and the Serve dashboard, "
            "or raise cluster.request_retries / request_timeout_s")

    def _send(self, image: np.ndarray) -> DeploymentResponse[Any]:
        # `score` is a plain (non-streaming) method: its call is one DeploymentResponse.
        return cast(DeploymentResponse[Any],
                    self.handle.remote(ScoreRequest(spec=self.spec, image=image)))


class ServeLoad:
    """Loads model versions onto the deployment (satisfies `bearwatch.shadow_wiring.ModelLoad`).

    Raises (from a call):
        ModelLoadError: the replica could not load the version (missing file, checksum).
    """

    def __init__(self, handle: DeploymentHandle, cluster: ClusterConfig) -> None:
        # One method handle each, made once: each runs a router (threads pushing metrics to
        # Serve's controller) that `close` stops before Ray disconnects.
        self.score = handle.score
        self.load = handle.load
        self.cluster = cluster

    def close(self) -> None:
        """Stop the handles' routers (before `ray.shutdown`)."""
        for h in (self.score, self.load):
            h.shutdown()

    def __call__(self, config: DetectorConfig, *, models_dir: Path,
                 recorded_sha256: str | None = None, device: str | None = None) -> ServeModel:
        spec = ModelSpec(detector=config, models_dir=models_dir,
                         recorded_sha256=recorded_sha256, device=device)
        try:
            loaded: LoadedModel = self.load.remote(spec).result(
                timeout_s=max(self.cluster.request_timeout_s, 300.0))
        except ModelLoadError as exc:  # the replica's own error, without Ray's traceback
            cause = getattr(exc, "cause", None)
            raise (cause if isinstance(cause, ModelLoadError) else ModelLoadError(str(exc))) \
                from exc
        return ServeModel(self.score, spec, loaded, self.cluster)
