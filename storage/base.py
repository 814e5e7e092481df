"""The shared base for every API's tables: UTC timestamps."""

from __future__ import annotations

import datetime as dt

import peewee

from storage.db import database


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class BaseModel(peewee.Model):
    created_at = peewee.DateTimeField(default=utcnow, index=True)

    class Meta:
        database = database
        legacy_table_names = False
