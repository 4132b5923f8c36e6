"""`cluster:` — where the detector runs: in the `bearwatch up` process (`engine: local`, the
default), or as a Ray Serve deployment on a Ray cluster (`engine: ray`, README "Beyond one
machine"): the cluster's address, the replicas' autoscaling bounds and resources, and the
address of Serve's HTTP ingress."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from kernel.config.base import Section


class ClusterConfig(Section):
    engine: Literal["local", "ray"] = Field(
        "local", description="'local': the detector runs in the `bearwatch up` process; 'ray': "
        "as a Ray Serve deployment (needs the 'cluster' extra: pip install -e '.[cluster]').",
    )
    address: str | None = Field(
        None, min_length=1, max_length=256,
        description="The Ray cluster to join, as `ray start --head` prints it "
        "('10.0.0.5:6379'), or 'auto' for the one started on this machine; unset: start a "
        "private one for this process.",
    )
    namespace: str = Field(
        "bearwatch", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
        description="Ray namespace the deployment lives in; one per Bearwatch installation.",
    )
    min_replicas: int = Field(1, ge=1, le=1024, description="Detector replicas at least.")
    max_replicas: int = Field(1, ge=1, le=1024, description="Detector replicas at most.")
    target_ongoing_requests: float = Field(
        16.0, gt=0, le=10_000,
        description="Frames in flight per replica the autoscaler aims for; more → a replica "
        "is added (up to max_replicas).",
    )
    num_cpus: float = Field(1.0, ge=0, le=1024, description="CPU cores reserved per replica.")
    num_gpus: float = Field(
        0.0, ge=0, le=64, description="GPUs per replica; a fraction (0.25) shares one GPU.")
    http_host: str = Field(
        "127.0.0.1", min_length=1,
        description="Serve's HTTP ingress address (the edge sites post to it); 0.0.0.0 to "
        "listen on every interface.",
    )
    http_port: int = Field(8000, ge=1, le=65535, description="Serve's HTTP ingress port.")
    request_timeout_s: float = Field(
        30.0, gt=0, le=600,
        description="A frame not scored within this is sent again (a replica died), s.",
    )
    request_retries: int = Field(
        3, ge=0, le=100, description="Times a frame is re-sent after a failed request.")

    @model_validator(mode="after")
    def _replicas(self) -> ClusterConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) must be <= max_replicas "
                             f"({self.max_replicas})")
        return self
