"""Interrupting a job part-way, as Ctrl-C or a killed process would."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest


def interrupt_on_call(
    monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str, call: int
) -> None:
    """Make ``module.name`` raise KeyboardInterrupt on its ``call``-th call (1-based);
    the calls before it run the real function. ``monkeypatch.undo()`` restores it."""
    real = getattr(module, name)
    calls = 0

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, interrupted)
