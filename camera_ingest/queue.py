"""The bounded queue between all camera readers and the detector's batcher.

`put` never blocks: a full queue sheds the oldest frame of the same camera, so a fast camera
pushes out its own backlog and never the frames of a slow one (DESIGN.md §2, back-pressure).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from itertools import count

from kernel.records import Frame


class FrameQueue:
    """A thread-safe, bounded FIFO of `Frame`s shared by every camera.

    Args:
        maxsize: frames held at most (>= 1).
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"FrameQueue maxsize must be >= 1, got {maxsize}; "
                             "set ingest.queue_size")
        self.maxsize = maxsize
        # Global insertion order (key -> frame) plus each camera's keys in order, so both
        # "oldest overall" and "oldest of this camera" are O(1).
        self._items: OrderedDict[int, Frame] = OrderedDict()
        self._by_camera: dict[str, deque[int]] = {}
        self._dropped: dict[str, int] = {}
        self._keys = count()
        self._closed = False
        self._cond = threading.Condition()

    def put(self, frame: Frame) -> None:
        """Add a frame without blocking; when full, drop the oldest frame of the same camera
        (or, if that camera has none queued, the oldest frame overall) and count the drop
        against the camera whose frame was dropped. Frames put after `close()` are discarded."""
        with self._cond:
            if self._closed:
                return
            if len(self._items) >= self.maxsize:
                self._drop_one(frame.camera_id)
            key = next(self._keys)
            self._items[key] = frame
            self._by_camera.setdefault(frame.camera_id, deque()).append(key)
            self._cond.notify()

    def _drop_one(self, camera_id: str) -> None:
        own = self._by_camera.get(camera_id)
        if own:
            victim = self._items.pop(own.popleft())
        else:
            key, victim = self._items.popitem(last=False)
            self._by_camera[victim.camera_id].popleft()
        self._dropped[victim.camera_id] = self._dropped.get(victim.camera_id, 0) + 1

    def _pop_oldest(self) -> Frame:
        key, frame = self._items.popitem(last=False)
        self._by_camera[frame.camera_id].popleft()
        return frame

    def get(self, timeout: float) -> Frame | None:
        """The oldest frame, waiting up to `timeout` seconds; None on timeout or once closed
        and empty."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while not self._items:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    return None
                self._cond.wait(left)
            return self._pop_oldest()

    def drain(self, max_n: int) -> list[Frame]:
        """Up to `max_n` frames, oldest first, without waiting."""
        with self._cond:
            return [self._pop_oldest() for _ in range(min(max_n, len(self._items)))]

    def dropped(self, camera_id: str) -> int:
        """Frames of this camera dropped because the queue was full."""
        with self._cond:
            return self._dropped.get(camera_id, 0)

    def qsize(self) -> int:
        with self._cond:
            return len(self._items)

    def close(self) -> None:
        """Refuse further frames and wake every waiting `get` (it returns what is left, then
        None)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
