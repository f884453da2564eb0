"""Errors that reach the user as one clear line and exit status 2."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input (file, column, value or option). The message is one line, shown as is."""


EXIT_INPUT_ERROR = 2
