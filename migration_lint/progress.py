"""Progress of long runs on stderr: shown on a terminal, silent anywhere else (CI logs and
pre-commit stay clean)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``label: done/total`` rewritten in place, at most ten times a second."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = total > 0 and _is_terminal(self.stream)
        self.label = label
        self.total = total
        self.done = 0
        self._shown = 0.0

    def advance(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._shown >= 0.1 or self.done == self.total:
            self._shown = now
            self.stream.write(f"\r{self.label}: {self.done}/{self.total}")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._shown:
            # Clear the line so the report starts on a clean one.
            self.stream.write("\r" + " " * (len(self.label) + 2 * len(str(self.total)) + 3) + "\r")
            self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
