"""Errors of model training (`bearwatch train`)."""

from __future__ import annotations

from kernel.errors import BearwatchError


class TrainingError(BearwatchError):
    """The training data, its split or the training run cannot go ahead; the message says
    which input is wrong and how to fix it."""


class EvalDataError(BearwatchError):
    """A labelled data set for `bearwatch eval` is missing or malformed."""

    exit_code = 2
