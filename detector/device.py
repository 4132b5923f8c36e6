"""Which device the model runs on, and how many CPU threads it may use."""

from __future__ import annotations

import contextlib
import logging
import os

import torch

from detector.errors import DeviceError

log = logging.getLogger("detector")


def pick_device(name: str) -> torch.device:
    """Resolve `auto` | `cpu` | `cuda` to a torch device and log the choice.

    Raises:
        DeviceError: `cuda` was asked for and no CUDA device is present.
    """
    if name == "auto":
        dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    elif name == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                "detector.device is 'cuda' but torch finds no CUDA device on this machine; "
                "set detector.device to 'auto' or 'cpu'"
            )
        dev = torch.device("cuda")
    elif name == "cpu":
        dev = torch.device("cpu")
    else:
        raise DeviceError(f"detector.device must be auto, cpu or cuda, got {name!r}")
    if dev.type == "cpu":
        configure_cpu_threads()
        log.info("detector device: cpu", extra={"device": "cpu", "threads": torch.get_num_threads(),
                                                 "requested": name})
    else:
        log.info("detector device: cuda", extra={"device": torch.cuda.get_device_name(0),
                                                  "requested": name})
    return dev


def usable_cores() -> int:
    """The cores this process may run on."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


def configure_cpu_threads() -> int:
    """Use one intra-op thread per core this process may run on, and one inter-op thread:
    convolutions scale with cores, while extra inter-op threads only contend with the camera
    readers for the same cores. Returns the intra-op thread count."""
    n = usable_cores()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    # RuntimeError: already set once in this process (inter-op threads are fixed after first use)
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)
    return n
