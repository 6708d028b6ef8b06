"""A run stopped by SIGTERM or Ctrl-C saves a checkpoint at the next step boundary instead of losing the steps since
the last one (a batch scheduler's SIGTERM, a ``kill``, a terminal closed with Ctrl-C).

The handler only records the request; the loop finishes the step it is in, checks it (so a checkpoint is never
poisoned), writes ``last.pt`` and raises :class:`TrainingInterrupted`, which says how to resume. A second signal
stops at once, as the default handler would.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

from imggen.errors import ImggenError

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(ImggenError):
    """A run was asked to stop by a signal and saved its checkpoint first."""


class StopRequests:
    """Within ``with``: SIGINT / SIGTERM set :attr:`signal` instead of killing the process (main thread only;
    elsewhere, and when ``enabled`` is false, the handlers stay as they are)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signal).name if self.signal is not None else ""

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is not None:  # asked twice: stop now
            self.__exit__(None, None, None)
            signal.raise_signal(signum)
        self.signal = signum

    def __enter__(self) -> StopRequests:
        if self.enabled:
            self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
