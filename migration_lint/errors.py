"""Errors the command line turns into a one-line message and exit code 2."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input or configuration: the message is shown as is, without a traceback."""
