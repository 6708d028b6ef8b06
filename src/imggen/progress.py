"""Progress bars for long work (evaluation, calibration, the zoo page, benchmark runs): tqdm on stderr.

Why: a command that runs for minutes must show that it is working. The bars stay off when stderr is not a terminal
(logs, pipes, CI, tests) and under ``imggen --quiet`` (which sets :data:`QUIET`); ``enabled=True`` forces them on.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

#: set by ``imggen --quiet``: no bars anywhere in this process
QUIET = False


def bars_enabled(enabled: bool | None = None) -> bool:
    """Whether a bar is drawn: ``enabled`` when given, else not quiet and stderr is a terminal."""
    if enabled is not None:
        return enabled
    return not QUIET and sys.stderr.isatty()


def progress(iterable: Iterable[Any] | None = None, *, total: int | None = None, desc: str | None = None,
             unit: str = "it", enabled: bool | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar (or a silent stand-in with the same interface) following :func:`bars_enabled`."""
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not bars_enabled(enabled), leave=False,
                dynamic_ncols=True, **kwargs)
