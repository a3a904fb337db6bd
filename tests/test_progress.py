"""Progress on stderr: on a terminal only."""

from __future__ import annotations

import io

from migration_lint.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_count_and_a_clean_line_after() -> None:
    stream = _Terminal()
    progress = Progress("rendering SQL for postgresql", 3, stream)
    for _ in range(3):
        progress.advance()
    progress.close()
    text = stream.getvalue()
    assert "\rrendering SQL for postgresql: 1/3" in text
    assert "rendering SQL for postgresql: 3/3" in text  # the last one is always shown
    assert text.endswith("\r") and text.rstrip("\r").endswith(" ")


def test_anything_else_sees_nothing() -> None:
    for stream in (io.StringIO(), _Closed()):
        progress = Progress("rendering SQL for sqlite", 5, stream)
        for _ in range(5):
            progress.advance()
        progress.close()
        assert progress.done == 5
        assert stream.getvalue() == ""


class _Closed(io.StringIO):
    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")
