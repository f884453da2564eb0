"""Shared base of the pipeline's algorithms (gaitmap style).

Parameters with defaults go to ``__init__`` and are stored unchanged under their own names; data
and ``sampling_rate_hz`` go to one action method that returns ``self``; results end in ``_``.
Algorithms of one kind share a base so they can be swapped.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, Self


class Algorithm:
    """Base of every pipeline algorithm."""

    _action_method: str = ""

    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` parameters and their current values (for provenance)."""
        sig = inspect.signature(type(self).__init__)
        return {
            name: getattr(self, name)
            for name in sig.parameters
            if name != "self" and hasattr(self, name)
        }

    def set_params(self, **params: Any) -> Self:
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {key!r}")
            setattr(self, key, value)
        return self

    def clone(self) -> Self:
        """A fresh copy with the same parameters and no results."""
        return type(self)(**copy.deepcopy(self.get_params()))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"
