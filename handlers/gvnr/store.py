"""Gvnr's door to storage/writer.py: jobs run in the process's writer thread (group commit),
reads on a per-thread connection; a database locked past the busy timeout answers 503."""

from __future__ import annotations

import typing as t

from server.errors import ApiError
from storage import writer


def _busy() -> ApiError:
    return ApiError(503, "database_busy", "the database is busy; retry shortly", retryable=True,
                    retry_after_ms=100)


async def run(fn: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
    try:
        return await writer.run(fn, *args)
    except writer.Busy:
        raise _busy() from None


def call(fn: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
    try:
        return writer.call(fn, *args)
    except writer.Busy:
        raise _busy() from None


def read(fn: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
    return writer.read(fn, *args)
