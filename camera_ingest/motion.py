"""Motion score against a running background, and the gate that keeps static scenes from the
detector (a keep-alive frame still goes through now and then)."""

from __future__ import annotations

import cv2
import numpy as np

from kernel.records import Box

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

MIN_REGION_PX = 2
"""Changed blobs smaller than this many analysis pixels are noise, not an animal."""


class MotionDetector:
    """Share of changed pixels (0..1) of each frame against a running background.

    Feed it the analysis-size luma plane (`ImageStats.grey`). The first frame has no background
    and scores 0.
    """

    def __init__(self, *, alpha: float = BACKGROUND_ALPHA, delta: int = PIXEL_DELTA) -> None:
        self.alpha = alpha
        self.delta = delta
        self._background: np.ndarray | None = None
        self._changed: np.ndarray | None = None

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
            self._changed = None
            return 0.0
        diff = current - bg
        # A global brightness shift (cloud, auto-exposure) moves every pixel alike; the median
        # shift is taken out so only local change counts (robust while under half the frame moves).
        diff -= float(np.median(diff))
        mask = np.abs(diff) > self.delta
        changed = float(np.count_nonzero(mask)) / current.size
        self._changed = mask if changed < SCENE_CUT else None
        if changed >= SCENE_CUT:
            self._background = current
        else:
            cv2.accumulateWeighted(current, bg, self.alpha)
        return min(1.0, changed)

    def regions(self, width: int, height: int, *, limit: int = 8) -> tuple[Box, ...]:
        """Bounding boxes of the changed blobs of the last scored frame, in px of a
        width x height image, largest first (at most `limit`); none after a scene cut."""
        mask = self._changed
        if mask is None or limit <= 0 or not mask.any():
            return ()
        # Close small gaps so one animal is one blob, not its legs and back apart.
        blobs = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8))
        n, _, stats, _ = cv2.connectedComponentsWithStats(blobs, connectivity=8)
        sx, sy = width / mask.shape[1], height / mask.shape[0]
        found = sorted((stats[i] for i in range(1, n)
                        if stats[i][cv2.CC_STAT_AREA] >= MIN_REGION_PX),
                       key=lambda st: -int(st[cv2.CC_STAT_AREA]))[:limit]
        out: list[Box] = []
        for st in found:
            x0, y0 = int(st[cv2.CC_STAT_LEFT] * sx), int(st[cv2.CC_STAT_TOP] * sy)
            x1 = min(width, int(np.ceil((st[cv2.CC_STAT_LEFT] + st[cv2.CC_STAT_WIDTH]) * sx)))
            y1 = min(height, int(np.ceil((st[cv2.CC_STAT_TOP] + st[cv2.CC_STAT_HEIGHT]) * sy)))
            out.append((x0, y0, max(1, x1 - x0), max(1, y1 - y0)))
        return tuple(out)

    def reset(self) -> None:
        self._background = None
        self._changed = None


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
