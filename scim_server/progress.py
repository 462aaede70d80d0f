"""How far long operator work has got, told to whoever listens: the CLI on a terminal.

Services and migrations call `report` where they know a count; it does nothing unless a
listener is installed, which only `scim-server` does, and only when stderr is a terminal
and the output is not --json (cli.py). A context variable, like logging's handlers, so
that no signature between a command and the loop that knows the count carries a callback.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol, TypeVar

T = TypeVar("T")


class Listener(Protocol):
    def __call__(self, stage: str, done: int | None, total: int | None) -> None:
        """A stage's name, and how far it is when it can say."""

    def clear(self) -> None:
        """Output follows: take away what is shown."""


_LISTENER: ContextVar[Listener | None] = ContextVar("progress_listener", default=None)


def report(stage: str, done: int | None = None, total: int | None = None) -> None:
    listener = _LISTENER.get()
    if listener is not None:
        listener(stage, done, total)


def clear() -> None:
    listener = _LISTENER.get()
    if listener is not None:
        listener.clear()


def counted(items: Iterable[T], stage: str, total: int | None = None) -> Iterator[T]:
    """The items, reporting every thousandth and the last as they are consumed."""
    done = 0
    for done, item in enumerate(items, 1):
        if done % 1000 == 0:
            report(stage, done, total)
        yield item
    report(stage, done, total)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)
