"""The database binding: schema set-up, additive migration, the write gate."""

from __future__ import annotations

import peewee

from storage import db


def _model(class_name: str, **fields: peewee.Field) -> type[peewee.Model]:
    meta = type("Meta", (), {"database": db.database, "table_name": "migration_probe"})
    return type(class_name, (peewee.Model,), {"Meta": meta, **fields})


def test_a_column_added_to_a_model_is_added_to_its_existing_table(tmp_path):
    db.bind(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    v1 = _model("ProbeV1", name=peewee.CharField())
    db.init_schema([v1])
    with db.database.connection_context():
        v1.create(name="before")

    v2 = _model("ProbeV2", name=peewee.CharField(), hits=peewee.IntegerField(default=0, index=True),
                note=peewee.TextField(null=True))
    db.init_schema([v2])
    db.init_schema([v2])  # repeating is a no-op
    with db.database.connection_context():
        columns = {c.name for c in db.database.get_columns("migration_probe")}
        assert columns == {"id", "name", "hits", "note"}
        old = v2.get(v2.name == "before")
        assert (old.hits, old.note) == (0, None)
        v2.create(name="after", hits=3)
        assert [r.hits for r in v2.select().order_by(v2.id)] == [0, 3]
        assert any("hits" in index.columns for index in db.database.get_indexes("migration_probe"))


def test_rebinding_the_same_url_applies_the_new_write_concurrency(tmp_path):
    url = f"sqlite:///{tmp_path / 'g.sqlite3'}"
    db.bind(url, write_concurrency=1)
    db.bind(url, write_concurrency=3)
    gate = db._write_gate
    assert all(gate.acquire(blocking=False) for _ in range(3))
    assert not gate.acquire(blocking=False)
    for _ in range(3):
        gate.release()
