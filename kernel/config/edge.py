"""`edge:` — sites whose cameras run at the edge (`bearwatch edge --site S`) and send their
gated frames to the centre (`bearwatch up`/`run`), README "Beyond one machine".

The centre side: the address its frame receiver listens on, TLS, and the sites with the
environment variable that holds each site's token. The edge side: where the centre is, the CA
that signs its certificate, and the bounded, durable backlog kept on disk while the centre is
unreachable. Tokens never live in the file.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from kernel.config.base import Identifier, Section

ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"


class SiteConfig(Section):
    id: Identifier
    name: str = Field("", description="Human name shown to operators.")
    token_env: str = Field(
        min_length=1, max_length=128, pattern=ENV_NAME,
        description="Environment variable holding this site's token, on the centre and on the "
        "site's edge box (the same value on both); e.g. BEARWATCH_SITE_NORTH_TOKEN.",
    )


class EdgeConfig(Section):
    sites: list[SiteConfig] = Field(
        default_factory=list,
        description="Edge sites; a camera with `site:` set runs on that site's edge box, not on "
        "the centre. None: every camera runs on the centre, and no receiver is started.",
    )
    listen_host: str = Field(
        "127.0.0.1", min_length=1,
        description="The centre's frame receiver address; 0.0.0.0 to listen on every interface.")
    listen_port: int = Field(8470, ge=1, le=65535, description="The centre's receiver port.")
    tls_cert: Path | None = Field(
        None, description="PEM certificate (chain) the receiver serves; with tls_key, HTTPS.")
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert.")
    centre_url: str | None = Field(
        None, pattern=r"^https?://[^\s/]+(:\d+)?/?$",
        description="Where an edge box sends frames: the centre's receiver, "
        "'https://centre.example:8470'. Needed by `bearwatch edge`.",
    )
    ca_file: Path | None = Field(
        None, description="PEM CA an edge box trusts for the centre's certificate (a private "
        "CA or a self-signed one); unset: the system's CAs.")
    backlog_dir: Path | None = Field(
        None, description="Folder of an edge box's backlog; unset: storage.root/edge-backlog.")
    backlog_max_frames: int = Field(
        20_000, ge=1, le=10_000_000,
        description="Frames the backlog holds at most; past it the oldest are dropped, counted.")
    backlog_max_mb: float = Field(
        1024.0, gt=0, le=1_000_000, description="Disk the backlog uses at most, MiB.")
    send_batch: int = Field(16, ge=1, le=256, description="Frames per request to the centre.")
    jpeg_quality: int = Field(
        92, ge=50, le=100, description="JPEG quality of the frames an edge box sends.")
    request_timeout_s: float = Field(
        30.0, gt=0, le=600, description="A request to the centre is given up after this, s.")
    ack_timeout_s: float = Field(
        20.0, gt=0, le=600,
        description="The centre answers a request once its frames are scored and committed; "
        "frames not done by then are answered 'retry' and the edge sends them again, s.")
    retry_initial_s: float = Field(
        0.5, gt=0, le=60, description="First wait before re-sending after a failure, s.")
    retry_max_s: float = Field(
        15.0, gt=0, le=600, description="Longest wait between re-sends (exponential), s.")
    silent_after_s: float = Field(
        60.0, gt=0, le=86_400,
        description="A site not heard from for this long is shown as silent, s.")

    @model_validator(mode="after")
    def _checks(self) -> EdgeConfig:
        ids = [s.id for s in self.sites]
        dups = sorted({i for i in ids if ids.count(i) > 1})
        if dups:
            raise ValueError(f"site id {dups[0]!r} is used twice")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key must be given together (or neither)")
        for name, path in (("tls_cert", self.tls_cert), ("tls_key", self.tls_key),
                           ("ca_file", self.ca_file)):
            if path is not None and not path.is_file():
                raise ValueError(f"{name} {str(path)!r} is not a file; give the PEM file's path")
        if self.retry_initial_s > self.retry_max_s:
            raise ValueError(f"retry_initial_s ({self.retry_initial_s}) must be <= "
                             f"retry_max_s ({self.retry_max_s})")
        return self

    def site(self, site_id: str) -> SiteConfig:
        for s in self.sites:
            if s.id == site_id:
                return s
        raise KeyError(site_id)
