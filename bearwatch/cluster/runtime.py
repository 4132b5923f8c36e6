"""Joining (or starting) the Ray cluster and deploying the detector (`bearwatch up` with
`cluster.engine: ray`).

`cluster.address` set: join that cluster (`ray start --head` ran on the head node, workers
joined it with `ray start --address`). Unset: start a private one-node cluster for this
process, stopped with it. The deployment is the `bearwatch-detector` Serve application; it
is deleted when the centre stops, so its replicas free their CPUs and GPUs. While it runs, the
replicas' figures are copied from the stats board into the database (`copier`).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import ray
from ray import serve
from ray.serve.handle import DeploymentHandle
from sqlalchemy.orm import Session, sessionmaker

from bearwatch.cluster.copier import COPY_S, BoardCopier
from bearwatch.cluster.records import ModelSpec
from bearwatch.cluster.remote_model import ServeLoad
from bearwatch.cluster.serve_app import DetectorReplica
from bearwatch.cluster.stats import APP_NAME, read_board, start_board
from kernel.config import BearwatchConfig, ClusterConfig

log = logging.getLogger("bearwatch.cluster")

ROUTE = "/detect"


@dataclass(frozen=True, slots=True)
class RayDetector:
    """The deployed detector: its handle, the loader `Pipeline` takes, whether this process
    started the Ray cluster (then `stop` ends it too), the replicas' stats board (an
    actor this process owns: `bearwatch status` reads it) and the thread copying it into the
    database (None: no session factory was given)."""

    handle: DeploymentHandle
    load: ServeLoad
    private_cluster: bool
    board: Any = None
    copier: BoardCopier | None = None

    def stop(self) -> None:
        """Delete the deployment and leave the cluster (ending it if it was private). The
        replicas' last stored figures stay in the database (`bearwatch status` shows their
        age)."""
        if self.copier is not None:
            self.copier.stop()
        self.load.close()
        self.handle.shutdown()
        try:
            serve.delete(APP_NAME)
        except Exception as exc:  # stopping must go on: the cluster may already be gone
            log.warning("detector deployment not deleted", extra={"error": str(exc)})
        if self.board is not None:
            with contextlib.suppress(Exception):  # it ends with this process in any case
                ray.kill(self.board)
        if self.private_cluster:
            serve.shutdown()
        ray.shutdown()


def connect(cluster: ClusterConfig) -> bool:
    """Join `cluster.address`, or start a private cluster; returns whether it is private."""
    if ray.is_initialized():
        return False
    env = {"env_vars": {"OMP_WAIT_POLICY": "PASSIVE"}}  # see bearwatch.cli.passive_openmp
    if cluster.address is not None:
        ray.init(address=cluster.address, namespace=cluster.namespace, runtime_env=env,
                 log_to_driver=False)
        return False
    ray.init(namespace=cluster.namespace, runtime_env=env, include_dashboard=False,
             log_to_driver=False)
    return True


def deployment_options(config: BearwatchConfig) -> dict[str, object]:
    """The detector deployment's Serve options from `cluster:` and `detector:`."""
    c, d = config.cluster, config.detector
    return {
        "autoscaling_config": {"min_replicas": c.min_replicas, "max_replicas": c.max_replicas,
                               "initial_replicas": c.min_replicas,
                               "target_ongoing_requests": c.target_ongoing_requests},
        "ray_actor_options": {"num_cpus": c.num_cpus, "num_gpus": c.num_gpus},
        # A batch waits for requests it may take: allow several batches per replica in flight.
        "max_ongoing_requests": max(2 * d.max_batch, int(c.target_ongoing_requests) * 2),
        "user_config": {"max_batch_size": d.max_batch,
                        "batch_wait_timeout_s": d.max_wait_ms / 1000.0},
    }


def check_http_port(cluster: ClusterConfig) -> tuple[str, int] | None:
    """After `serve.start`: the (host, port) Serve's HTTP proxy really listens on, when it is
    not `cluster.http_host`:`http_port`, logged as a WARNING naming both and the fix. Serve
    keeps the HTTP options of its first start on a cluster and ignores later ones (its own
    log line names no port). None: they agree, or they cannot be read.

    Serve 2.60 has no public call for the running options (`serve.status()` lists the
    proxies' health, not their address; the REST API needs the dashboard): the controller
    client holds them, as `serve.start` itself reads them to compare.
    """
    try:
        from ray.serve.context import _get_global_client

        client = _get_global_client(raise_if_no_controller_running=False)
        http = client.http_config if client is not None else None
    except Exception as exc:  # a Serve without that internal: nothing to compare
        log.debug("Serve's HTTP options not readable", extra={"error": str(exc)})
        return None
    if http is None:
        return None
    actual = (str(http.host), int(http.port))
    if actual == (cluster.http_host, cluster.http_port):
        return None
    log.warning(
        f"Serve on this cluster already runs its HTTP proxy on {actual[0]}:{actual[1]}; "
        f"cluster.http_host/http_port ({cluster.http_host}:{cluster.http_port}) are ignored "
        "(Serve keeps the HTTP options of its first start). Fix: set cluster.http_port: "
        f"{actual[1]} (and http_host: {actual[0]}), or run `serve shutdown` on the head "
        "(it deletes every Serve application there) before `bearwatch up`",
        extra={"serve_http": f"{actual[0]}:{actual[1]}",
               "configured_http": f"{cluster.http_host}:{cluster.http_port}"})
    return actual


def deploy(config: BearwatchConfig, *, sessions: sessionmaker[Session] | None = None,
           recorded_sha256: str | None = None, device: str | None = None) -> RayDetector:
    """Connect and deploy the detector, its replicas preloaded with `detector.model`.

    Args:
        sessions: the centre's session factory: the replicas' figures are copied from the
            stats board into `replica_status` every `copier.COPY_S` until `stop` (None: not
            copied).

    Raises:
        detector.models.ModelLoadError: the model cannot load on a replica.
    """
    private = connect(config.cluster)
    c = config.cluster
    serve.start(http_options={"host": c.http_host, "port": c.http_port})
    http = check_http_port(c) or (c.http_host, c.http_port)
    board = start_board(c.namespace)
    default = ModelSpec(detector=config.detector, models_dir=config.storage.models_dir,
                        recorded_sha256=recorded_sha256, device=device)
    app = DetectorReplica.options(**deployment_options(config)).bind(  # type: ignore[attr-defined]
        preload=[default], threads=max(1, int(c.num_cpus)), namespace=c.namespace)
    handle = serve.run(app, name=APP_NAME, route_prefix=ROUTE)
    log.info("detector deployed on Ray Serve", extra={
        "address": c.address or "private", "replicas": f"{c.min_replicas}..{c.max_replicas}",
        "http": f"http://{http[0]}:{http[1]}{ROUTE}"})
    copier = None if sessions is None else BoardCopier(
        lambda: read_board(c.namespace, timeout_s=COPY_S), sessions).start()
    return RayDetector(handle=handle, load=ServeLoad(handle, c), private_cluster=private,
                       board=board, copier=copier)
