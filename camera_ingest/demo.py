"""`demo:` — a synthetic outdoor scene so Bearwatch runs with no camera attached.

Plainly synthetic: every frame is stamped "SYNTHETIC" and its ref reads `demo:synthetic#N`.
It never draws an animal, let alone a bear. What it does have: a textured background (sky,
a mountain ridge, ground, conifers), slow light changes (drifting cloud shade), a day/night
cycle compressed to `day=` seconds (infrared-looking grey frames at night), and bursts of
swaying trees so motion gating has something to do.

Source string: `demo:` or `demo:seed=3,day=600,width=960,height=540`.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from camera_ingest.errors import SourceError
from camera_ingest.source import RawFrame, SourceOptions

_KEYS = {"seed": int, "day": float, "width": int, "height": int}


def parse_demo(spec: str) -> dict[str, float]:
    """`demo:seed=3,day=600` -> its options (defaults filled in).

    Raises:
        SourceError: an unknown key or a bad value.
    """
    out: dict[str, float] = {"seed": 0, "day": 600.0, "width": 960, "height": 540}
    body = spec.split(":", 1)[1].strip()
    for part in filter(None, (p.strip() for p in body.split(","))):
        key, _, value = part.partition("=")
        if key not in _KEYS:
            raise SourceError(spec, f"unknown demo option {key!r}",
                              f"use demo: or demo:{','.join(k + '=…' for k in _KEYS)}")
        try:
            out[key] = _KEYS[key](value)
        except ValueError as exc:
            raise SourceError(spec, f"demo option {key}={value!r} is not a number") from exc
    if out["day"] <= 0 or not 32 <= out["width"] <= 4096 or not 32 <= out["height"] <= 4096:
        raise SourceError(spec, "demo day must be > 0 s and width/height 32..4096 px")
    return out


class _Scene:
    """The static scene, rendered once: a day background and where the trees are."""

    def __init__(self, width: int, height: int, rng: np.random.Generator) -> None:
        w, h = width, height
        horizon = int(h * 0.55)
        y = np.linspace(0, 1, horizon, dtype=np.float32)[:, None]
        sky = np.empty((horizon, w, 3), np.float32)
        sky[..., 0], sky[..., 1], sky[..., 2] = 120 + 80 * y, 170 + 50 * y, 230 + 10 * y
        img = np.zeros((h, w, 3), np.float32)
        img[:horizon] = sky
        xs = np.arange(w)
        ridge = (horizon - h * 0.12 - h * 0.06 * np.sin(xs / w * 5.1 + rng.uniform(0, 6))
                 - h * 0.03 * np.sin(xs / w * 17.3 + rng.uniform(0, 6))).astype(int)
        rows = np.arange(h)[:, None]
        mountain = (rows >= ridge[None, :]) & (rows < horizon)
        img[mountain] = (95, 105, 125)
        ground = np.linspace(0, 1, h - horizon, dtype=np.float32)[:, None]
        img[horizon:, :, 0] = 70 + 40 * ground
        img[horizon:, :, 1] = 95 + 30 * ground
        img[horizon:, :, 2] = 50 + 20 * ground
        texture = cv2.GaussianBlur(rng.normal(0, 18, (h, w)).astype(np.float32), (0, 0), 2)
        img[horizon:] += texture[horizon:, :, None]
        img[mountain] += texture[mountain][:, None] * 0.4
        self.trees: list[np.ndarray] = []
        for _ in range(9):
            cx, base = rng.uniform(0, w), rng.uniform(horizon + 10, h * 0.95)
            tall = rng.uniform(0.25, 0.5) * h * (base / h)
            half = tall * 0.22
            self.trees.append(np.array([[cx - half, base], [cx + half, base], [cx, base - tall]]))
        self.day = np.clip(img, 0, 255).astype(np.uint8)
        self.static = self.day.copy()
        for i, tree in enumerate(self.trees):
            if i >= 3:  # the first three sway; the rest are baked into the background
                cv2.fillPoly(self.static, [tree.astype(np.int32)], (30, 60, 35))
        self.noise = [rng.normal(0, 3, (h, w, 1)).astype(np.int16) for _ in range(4)]


class DemoSource:
    """A `FrameSource` drawing the synthetic scene at the camera's fps (see module doc)."""

    quiet_is_healthy = False

    def __init__(self, spec: str, options: SourceOptions) -> None:
        self.description = spec
        self.options = options
        self.params = parse_demo(spec)
        self._rng = np.random.default_rng(int(self.params["seed"]))
        self._scene: _Scene | None = None
        self._n = 0
        self._next_due = 0.0
        self._sway_until = -1.0

    @property
    def ended(self) -> bool:
        return False

    def open(self) -> None:
        if self._scene is None:
            self._scene = _Scene(int(self.params["width"]), int(self.params["height"]), self._rng)
        self._next_due = self.options.clock()

    def close(self) -> None:
        """Nothing to release; the scene is kept for a reopen."""

    def daylight(self, t: float) -> float:
        """0 (night) .. 1 (noon) at epoch second `t` on the compressed day."""
        phase = (t % self.params["day"]) / self.params["day"]
        return float(np.clip(math.sin(2 * math.pi * phase) * 1.4 + 0.35, 0.0, 1.0))

    def render(self, t: float) -> np.ndarray:
        """The RGB frame at epoch second `t`."""
        scene = self._scene
        assert scene is not None, "open() first"
        frame = scene.static.copy()
        if t >= self._sway_until and self._rng.random() < 0.03:
            self._sway_until = t + self._rng.uniform(2, 6)  # a gust
        amp = 6.0 if t < self._sway_until else 0.0
        for i, tree in enumerate(scene.trees[:3]):
            sway = tree.copy()
            sway[2, 0] += amp * math.sin(t * 3.0 + i)
            cv2.fillPoly(frame, [sway.astype(np.int32)], (30, 60, 35))
        light = self.daylight(t)
        shade = 0.85 + 0.15 * math.sin(t / 23.0)  # drifting clouds
        noise = scene.noise[self._n % len(scene.noise)]
        if light > 0.1:
            gain = (0.35 + 0.75 * light) * shade
            out = frame.astype(np.int16) * gain + noise
        else:
            # Infrared illuminator: grey, flat, noisier, brighter near the camera.
            grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.int16)
            out = np.repeat(grey[..., None], 3, axis=2) * 0.55 + noise * 3
        img = np.clip(out, 0, 255).astype(np.uint8)
        cv2.putText(img, "SYNTHETIC", (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8,
                    (255, 255, 255), 2, cv2.LINE_AA)
        return img

    def read(self) -> RawFrame:
        if self._scene is None:
            raise SourceError(self.description, "read before open")
        opts = self.options
        wait = self._next_due - opts.clock()
        if wait > 0 and opts.realtime:
            opts.sleep(wait)
        now = opts.clock()
        self._next_due = max(self._next_due + opts.interval_s, now)
        self._n += 1
        return RawFrame(opts.utc(now), self.render(now), f"demo:synthetic#{self._n}")
