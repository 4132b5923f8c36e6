"""Motion score against a running background, and the gate that keeps static scenes from the
detector (a keep-alive frame still goes through now and then)."""

from __future__ import annotations

import cv2
import numpy as np

MOTION_WIDTH = 160
"""Width, px, of the greyscale copy motion is measured on: enough for an animal, cheap."""

PIXEL_DELTA = 25
"""Grey-level difference from the background that counts a pixel as changed (0..255)."""

BACKGROUND_ALPHA = 0.05
"""Weight of each new frame in the running background: slow light changes are absorbed, an
animal walking through is not."""

SCENE_CUT = 0.8
"""Share of changed pixels that means the whole scene changed (infrared switched on, the
camera moved): the background restarts from this frame instead of fading in over ~50."""


class MotionDetector:
    """Share of changed pixels (0..1) of each frame against a running background.

    Feed it the analysis-size luma plane (`ImageStats.grey`). The first frame has no background
    and scores 0.
    """

    def __init__(self, *, alpha: float = BACKGROUND_ALPHA, delta: int = PIXEL_DELTA) -> None:
        self.alpha = alpha
        self.delta = delta
        self._background: np.ndarray | None = None

    def score(self, grey: np.ndarray) -> float:
        h, w = grey.shape[:2]
        small = grey
        if w > MOTION_WIDTH:
            small = cv2.resize(grey, (MOTION_WIDTH, max(1, round(h * MOTION_WIDTH / w))),
                               interpolation=cv2.INTER_AREA)
        # Blur so sensor noise and JPEG blocks do not count as motion.
        current = cv2.GaussianBlur(small, (5, 5), 0).astype(np.float32)
        bg = self._background
        if bg is None or bg.shape != current.shape:
            self._background = current
            return 0.0
        diff = current - bg
        # A global brightness shift (cloud, auto-exposure) moves every pixel alike; the median
        # shift is taken out so only local change counts (robust while under half the frame moves).
        diff -= float(np.median(diff))
        changed = float(np.count_nonzero(np.abs(diff) > self.delta)) / current.size
        if changed >= SCENE_CUT:
            self._background = current
        else:
            cv2.accumulateWeighted(current, bg, self.alpha)
        return min(1.0, changed)

    def reset(self) -> None:
        self._background = None


class MotionGate:
    """Decides whether a frame goes to the detector.

    A frame passes when gating is off, when its motion score reaches the threshold, or when no
    frame of this camera has passed for `keepalive_s` seconds (so a static camera is still
    scored and its health is visible downstream).
    """

    def __init__(self, *, enabled: bool, threshold: float, keepalive_s: float) -> None:
        self.enabled = enabled
        self.threshold = threshold
        self.keepalive_s = keepalive_s
        self._last_sent: float | None = None

    def admit(self, motion_score: float, now: float) -> bool:
        """True to send the frame on; `now` is seconds on the reader's clock."""
        due = self._last_sent is None or now - self._last_sent >= self.keepalive_s
        if not self.enabled or motion_score >= self.threshold or due:
            self._last_sent = now
            return True
        return False
