"""Ray Serve benchmark (prints JSON): the detector deployment (`bearwatch.cluster`) against
in-process scoring of the same frames (real bear photos, resized as cameras deliver them).

- throughput, frames/s: every frame sent at once through the deployment handle (each frame one
  request, `@serve.batch` joining them), at 1 and then 2 replicas, and their ratio; beside it,
  round for round, the same frames scored in-process in batches of `detector.max_batch` (so
  the ratio can also be read with the machine's changing load taken out);
- added latency of the handle call: one frame at a time (the four kinds of call interleaved,
  so all see the same load), p50/p99 of the handle round trip
  minus those of an in-process forward pass of one frame;
- added latency of the HTTP hop: one JPEG at a time POSTed to `/detect`, p50/p99 minus those
  of decoding the same JPEG and scoring it in-process;
- memory: each replica's resident memory as it reports it (`bearwatch status` shows the same
  figures), and this process's after loading the model in-process, for comparison.

Every replica and the in-process model use `runtime_threads` = `--threads` (default 1: one
replica per core), so the comparison is per replica. The cluster is a private one-node Ray
started here (`--num-cpus`, default 2) in its own temp dir, without token auth (it listens
on 127.0.0.1 only), ended at exit; `--address` joins an existing one instead.

Usage: .venv/bin/python bench/serve_bench.py [--frames 24] [--rounds 3] [--latency-n 30]
       [--threads 1] [--num-cpus 2] [--address HOST:PORT]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

for _name, _value in {"RAY_ENABLE_AUTO_CONNECT": "0", "RAY_USAGE_STATS_ENABLED": "0",
                      "OMP_WAIT_POLICY": "PASSIVE"}.items():
    os.environ.setdefault(_name, _value)

import cv2  # noqa: E402
import numpy as np  # noqa: E402

BEARS = Path(__file__).resolve().parents[2] / "shared" / "data" / "bears"


def _images(n: int, max_side: int) -> list[tuple[np.ndarray, bytes]]:
    """`n` photos (bear and no-bear alternating, from manifest.csv) as RGB arrays of at most
    `max_side` pixels, each with its JPEG encoding (what an edge site would POST)."""
    rows = list(csv.DictReader((BEARS / "manifest.csv").open()))
    picked = [r for r in rows if r["light"] == "day"]
    bears = [r for r in picked if r["label"] == "bear"]
    others = [r for r in picked if r["label"] == "no_bear"]
    out = []
    for i in range(n):
        row = (bears if i % 2 == 0 else others)[i // 2]
        bgr = cv2.imread(str(BEARS / row["file"]))
        assert bgr is not None, row["file"]
        h, w = bgr.shape[:2]
        s = max_side / max(h, w)
        if s < 1:
            bgr = cv2.resize(bgr, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        ok, jpg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        decoded = cv2.imdecode(jpg, cv2.IMREAD_COLOR)  # the HTTP path scores the decoded JPEG
        assert decoded is not None
        out.append((np.ascontiguousarray(decoded[:, :, ::-1]), jpg.tobytes()))
    return out


def _pcts(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"p50_ms": round(float(np.percentile(a, 50)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2), "n": len(ms)}


def _added(serve: dict[str, float], base: dict[str, float]) -> dict[str, float]:
    return {"p50_ms": round(serve["p50_ms"] - base["p50_ms"], 2),
            "p99_ms": round(serve["p99_ms"] - base["p99_ms"], 2)}


def _throughputs(scorers: dict[str, Callable[[list[np.ndarray]], object]],
                 images: list[np.ndarray], rounds: int) -> dict[str, float]:
    """Frames/s of each scorer, their rounds interleaved (a round of each in turn), so a
    change in the machine's load hits all of them alike."""
    for score in scorers.values():
        score(images)  # warm: lazy inits, the batch queue's first fill
    spent = dict.fromkeys(scorers, 0.0)
    for _ in range(rounds):
        for name, score in scorers.items():
            t0 = time.perf_counter()
            score(images)
            spent[name] += time.perf_counter() - t0
    return {name: round(len(images) * rounds / s, 2) for name, s in spent.items()}


def _latencies(calls: dict[str, Callable[[], object]], n: int) -> dict[str, list[float]]:
    """Each call's time for one frame, ms, `n` times, interleaved as `_throughputs` is."""
    for call in calls.values():
        for _ in range(3):
            call()  # warm
    out: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(n):
        for name, call in calls.items():
            t0 = time.perf_counter()
            call()
            out[name].append((time.perf_counter() - t0) * 1000.0)
    return out


def _post(url: str, body: bytes) -> float:
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "image/jpeg"})
    with urllib.request.urlopen(req, timeout=300) as r:
        return float(json.loads(r.read())["p_bear"])


def _config(root: Path, args: argparse.Namespace, replicas: int, http_port: int) -> Any:
    from kernel.config import parse_config

    return parse_config(f"""
storage: {{root: '{root}'}}
zones: [{{id: z1}}]
cameras: [{{id: c1, zone: z1, source: 'demo:'}}]
detector: {{device: cpu, max_batch: {args.max_batch}, max_wait_ms: {args.max_wait_ms},
           runtime_threads: {args.threads}}}
cluster: {{engine: ray, address: {json.dumps(args.address)}, min_replicas: {replicas},
           max_replicas: {replicas}, num_cpus: {args.threads}, http_port: {http_port},
           request_timeout_s: 600}}
""")


def _replica_memory(namespace: str, want: int) -> list[dict[str, Any]]:
    from bearwatch.cluster.stats import read_board

    deadline = time.monotonic() + 60
    rows = read_board(namespace) or []
    while len(rows) < want and time.monotonic() < deadline:
        time.sleep(1.0)
        rows = read_board(namespace) or []
    return [{"replica": r.replica, "rss_mb": None if r.rss_mb is None else round(r.rss_mb, 1),
             "images": r.images, "mean_batch": round(r.mean_batch, 2),
             "latency_p50_ms": round(r.latency_p50_ms, 1),
             "latency_p99_ms": round(r.latency_p99_ms, 1)} for r in rows]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    import ray

    from bearwatch.cli import passive_openmp
    from bearwatch.cluster.runtime import ROUTE, deploy
    from bearwatch.cluster.stats import REPORT_S, rss_mb
    from detector.models import load_model

    passive_openmp()
    import torch

    # A replica's worker gets OMP_NUM_THREADS = its CPUs from Ray; in-process alike.
    torch.set_num_threads(args.threads)
    frames = _images(args.frames, args.max_side)
    images = [im for im, _ in frames]
    http_port = _free_port()
    cfg1 = _config(root / "var", args, 1, http_port)

    rss0 = rss_mb()
    local = load_model(cfg1.detector, models_dir=cfg1.storage.models_dir, device="cpu")
    rss1 = rss_mb()
    b = args.max_batch
    one, jpg = frames[0]

    def in_process(ims: list[np.ndarray]) -> object:
        return [local.score_images(ims[i:i + b]) for i in range(0, len(ims), b)]

    def decode_and_score() -> object:
        bgr = cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR)
        assert bgr is not None
        return local.score_images([np.ascontiguousarray(bgr[:, :, ::-1])])

    expected = float(local.score_images([one])[0])
    temp = None
    if args.address is None:
        temp = Path(tempfile.mkdtemp(prefix="bwsb", dir="/tmp"))  # short: Ray's socket paths
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        ray.init(num_cpus=args.num_cpus, num_gpus=0, include_dashboard=False,
                 namespace=cfg1.cluster.namespace, log_to_driver=False,
                 object_store_memory=200 * 2**20, _temp_dir=str(temp),
                 runtime_env={"env_vars": {"OMP_WAIT_POLICY": "PASSIVE"}})
    result: dict[str, Any] = {}
    try:
        t0 = time.perf_counter()
        det1 = deploy(cfg1, device="cpu")
        deploy_s = time.perf_counter() - t0
        m1 = det1.load(cfg1.detector, models_dir=cfg1.storage.models_dir, device="cpu")
        assert abs(float(m1.score_images([one])[0]) - expected) < 1e-4
        url = f"http://127.0.0.1:{http_port}{ROUTE}"
        assert abs(_post(url, jpg) - expected) < 1e-4
        at1 = _throughputs({"in_process": in_process, "serve": m1.score_images}, images,
                           args.rounds)
        lat = _latencies({"in_process_forward": lambda: local.score_images([one]),
                          "handle_round_trip": lambda: m1.score_images([one]),
                          "in_process_decode_and_forward": decode_and_score,
                          "http_post_detect": lambda: _post(url, jpg)}, args.latency_n)
        time.sleep(REPORT_S + 1.0)  # the replicas' next reports include all of it
        mem1 = _replica_memory(cfg1.cluster.namespace, 1)
        det1.load.close()
        det1.handle.shutdown()

        # The same application updated to two replicas: the first stays, one is added.
        cfg2 = _config(root / "var", args, 2, http_port)
        t0 = time.perf_counter()
        det2 = deploy(cfg2, device="cpu")
        scale_s = time.perf_counter() - t0
        try:
            m2 = det2.load(cfg2.detector, models_dir=cfg2.storage.models_dir, device="cpu")
            at2 = _throughputs({"in_process": in_process, "serve": m2.score_images}, images,
                               args.rounds)
            time.sleep(REPORT_S + 1.0)
            mem2 = _replica_memory(cfg2.cluster.namespace, 2)
            spread = dict(m2.served_by)
        finally:
            det2.stop()
        pct = {name: _pcts(ms) for name, ms in lat.items()}
        result = {
            "deploy_1_replica_s": round(deploy_s, 1),
            # serve.run of the changed application replaces its replicas (a new version).
            "redeploy_at_2_replicas_s": round(scale_s, 1),
            "throughput_fps": {
                "serve_1_replica": at1["serve"], "in_process_beside_1": at1["in_process"],
                "serve_2_replicas": at2["serve"], "in_process_beside_2": at2["in_process"],
                "ratio_2_vs_1": round(at2["serve"] / at1["serve"], 3),
                # The same ratio with each serve figure over the in-process one measured in
                # the same minutes: what is left of the scaling once the machine's changing
                # load is taken out.
                "ratio_2_vs_1_load_adjusted": round(
                    (at2["serve"] / at2["in_process"]) / (at1["serve"] / at1["in_process"]), 3),
                "serve_1_vs_in_process": round(at1["serve"] / at1["in_process"], 3)},
            "frames_per_replica_at_2": spread,
            "latency_one_frame": {
                **pct,
                "handle_added": _added(pct["handle_round_trip"], pct["in_process_forward"]),
                "http_added": _added(pct["http_post_detect"],
                                     pct["in_process_decode_and_forward"])},
            "memory_mb": {"bench_process_before_model": None if rss0 is None else round(rss0, 1),
                          "bench_process_with_model": None if rss1 is None else round(rss1, 1),
                          "replicas_at_1": mem1, "replicas_at_2": mem2},
        }
    finally:
        ray.shutdown()
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=24, help="frames per throughput round")
    p.add_argument("--rounds", type=int, default=3, help="throughput rounds (after a warm one)")
    p.add_argument("--latency-n", type=int, default=30, help="single-frame calls timed")
    p.add_argument("--max-side", type=int, default=640, help="frames' longer side, px")
    p.add_argument("--max-batch", type=int, default=4, help="detector.max_batch")
    p.add_argument("--max-wait-ms", type=int, default=20, help="detector.max_wait_ms")
    p.add_argument("--threads", type=int, default=1,
                   help="runtime threads and CPUs per replica (and in-process)")
    p.add_argument("--num-cpus", type=int, default=2, help="CPUs of the private cluster")
    p.add_argument("--address", default=None, help="join this Ray cluster instead")
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bw-serve-bench-"))
    load_before = round(os.getloadavg()[0], 2)
    try:
        figures = run(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    doc = {"bench": "serve", "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                         "load_avg_1m_start": load_before,
                                         "load_avg_1m_end": round(os.getloadavg()[0], 2)},
           "settings": {k: getattr(args, k) for k in vars(args)}, **figures}
    json.dump(doc, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
