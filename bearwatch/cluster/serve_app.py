"""The detector as a Ray Serve deployment: each replica loads its models once (with
`detector.models.load_model`, which checks their checksums) and scores images in batches
formed by `@serve.batch` (`detector.max_batch`, `detector.max_wait_ms`, set through the
deployment's `user_config` so a redeploy can change them). Requests name the model version by
`ModelSpec`, so one deployment serves every zone's live, shadow and promoted versions; a
replica loads a version it has not seen on its first request for it.

Two entry points: `score` (a `DeploymentHandle` call from the centre, one image each, numpy
through Ray's object store) and HTTP `POST /detect` (a JPEG body, scored with the default
model: the hop an edge site makes; answers JSON `{"p_bear", "model_version", "replica"}`, and
a request that is no image a 4xx naming what to send). Each replica meters itself (batch
sizes, queue, latency, errors, memory) and reports to the stats board (`stats`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import cv2
import numpy as np
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse

from bearwatch.cluster.records import (
    LoadedModel,
    ModelSpec,
    ReplicaStats,
    ScoreReply,
    ScoreRequest,
)
from bearwatch.cluster.stats import ReplicaMeter, Reporter
from detector.models import Model, load_model

log = logging.getLogger("bearwatch.cluster")

# The defaults `@serve.batch` starts with; `reconfigure` sets the config's at once.
_START_BATCH = 8
_START_WAIT_S = 0.05


@serve.deployment(name="detector")
class DetectorReplica:
    """One detector replica.

    Args:
        preload: the models loaded before the replica takes requests (the config's
            `detector.model`): Serve routes nothing to it until they are loaded.
        threads: onnxruntime threads per model where the config sets none: the CPUs the
            replica reserves, so replicas on one node do not oversubscribe it.
        namespace: the Ray namespace of the `bearwatch up` that deployed it (its stats board).
    """

    def __init__(self, preload: list[ModelSpec], threads: int, namespace: str) -> None:
        self.threads = threads
        self.replica = serve.get_replica_context().replica_id.unique_id
        self.meter = ReplicaMeter(self.replica)
        self._models: dict[str, Model] = {}
        self._lock = threading.Lock()
        self.default = preload[0] if preload else None
        for spec in preload:
            self._model(spec)
        self.reporter = Reporter(self.meter, namespace)
        self.reporter.push()  # on the board as soon as it takes requests

    def __del__(self) -> None:
        # Serve calls it when it stops the replica (scale-down, redeploy, delete).
        reporter = getattr(self, "reporter", None)
        if reporter is not None:
            reporter.stop()

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Serve's `user_config`: the batching settings of the detector section."""
        # `@serve.batch` adds these setters to the method at run time; its stubs do not say so.
        self._batched.set_max_batch_size(  # type: ignore[attr-defined]
            int(user_config["max_batch_size"]))
        self._batched.set_batch_wait_timeout_s(  # type: ignore[attr-defined]
            float(user_config["batch_wait_timeout_s"]))

    def _model(self, spec: ModelSpec) -> Model:
        with self._lock:  # loads run in worker threads; each version loads once
            model = self._models.get(spec.key)
            if model is None:
                det = spec.detector
                if det.runtime_threads is None:
                    det = det.model_copy(update={"runtime_threads": self.threads})
                model = load_model(det, models_dir=spec.models_dir,
                                   recorded_sha256=spec.recorded_sha256, device=spec.device)
                self._models[spec.key] = model
                log.info("replica loaded model", extra={
                    "replica": self.replica, "model_version": model.version})
            return model

    def load(self, spec: ModelSpec) -> LoadedModel:
        """Load `spec` here (raises `detector.models.ModelLoadError`: a checksum mismatch
        reaches the centre at start-up, not at the first frame)."""
        model = self._model(spec)
        return LoadedModel(version=model.version, device=str(model.device))

    def stats(self) -> ReplicaStats:
        """This replica's figures (the board holds every replica's: `stats.read_board`)."""
        return self.meter.snapshot()

    async def score(self, request: ScoreRequest) -> ScoreReply:
        """Score one image; `@serve.batch` joins concurrent requests into forward passes."""
        m = self.meter
        t0 = time.perf_counter()
        m.ongoing += 1
        try:
            reply: ScoreReply = await self._batched(request)
        finally:
            m.ongoing -= 1
        m.latencies_ms.append((time.perf_counter() - t0) * 1000.0)
        return reply

    @serve.batch(max_batch_size=_START_BATCH, batch_wait_timeout_s=_START_WAIT_S)
    async def _batched(self, requests: list[ScoreRequest]) -> list[ScoreReply]:
        """Score a batch: one forward pass per model version among the requests."""
        m = self.meter
        m.in_forward += len(requests)
        try:
            return await asyncio.to_thread(self._score_batch, requests)
        except Exception:
            m.errors += 1
            raise
        finally:
            m.in_forward -= len(requests)

    def _score_batch(self, requests: list[ScoreRequest]) -> list[ScoreReply]:
        t0 = time.perf_counter()
        by_key: dict[str, list[int]] = {}
        for i, r in enumerate(requests):
            by_key.setdefault(r.spec.key, []).append(i)
        out: list[ScoreReply | None] = [None] * len(requests)
        for idx in by_key.values():
            model = self._model(requests[idx[0]].spec)
            scores = model.score_images([requests[i].image for i in idx])
            for i, p in zip(idx, scores, strict=True):
                out[i] = ScoreReply(p_bear=float(p), version=model.version,
                                    replica=self.replica, batch_size=len(requests))
        self.meter.batch(len(requests), (time.perf_counter() - t0) * 1000.0)
        return [r for r in out if r is not None]

    async def __call__(self, request: Request) -> JSONResponse:
        """HTTP: a JPEG (or PNG) body scored with the default model; a request that is not
        one is answered 4xx with what to send instead."""
        if self.default is None:
            return JSONResponse({"error": "no default model"}, status_code=503)
        problem = _bad_request(request.method, request.headers.get("content-type", ""))
        bgr = None
        if problem is None:
            body = await request.body()
            if body:
                bgr = cv2.imdecode(np.frombuffer(body, dtype=np.uint8), cv2.IMREAD_COLOR)
            if bgr is None:
                problem = (400, f"the body ({len(body)} bytes) is not a JPEG or PNG image; "
                           f"{_HOW}")
        if problem is not None or bgr is None:
            self.meter.rejected += 1
            status, message = problem or (400, _HOW)
            return JSONResponse({"error": message}, status_code=status)
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        reply: ScoreReply = await self.score(ScoreRequest(spec=self.default, image=rgb))
        return JSONResponse({"p_bear": reply.p_bear, "model_version": reply.version,
                             "replica": reply.replica})


_HOW = ("POST the image file's bytes as the body, e.g. curl --data-binary @photo.jpg "
        "-H 'Content-Type: image/jpeg' http://HOST:PORT/detect")


def _bad_request(method: str, content_type: str) -> tuple[int, str] | None:
    """(status, message) for a request `/detect` cannot take from its method and type alone."""
    if method != "POST":
        return 405, f"/detect takes POST, not {method}; {_HOW}"
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind.startswith("multipart/") or kind == "application/x-www-form-urlencoded":
        return 415, (f"a form upload ({kind}) is not read: send the raw image, not curl -F; "
                     f"{_HOW}")
    return None
