"""Append-only numbered migrations and the schema_version table.

Each file ``migrations/NNN_description.sql`` runs once, in order, inside a transaction
together with its schema_version row, so a crash never leaves a half-applied step.
Never edit a released migration: add the next number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import duckdb

from newsintel.errors import StoreError
from newsintel.store.connect import Connection, transaction

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One numbered schema step."""

    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """All migrations shipped with this version of newsintel, in order."""
    found: list[Migration] = []
    folder = resources.files("newsintel.store") / "migrations"
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreError(f"migrations are not numbered 1..n without gaps: {versions}")
    return found


def current_version(con: Connection) -> int:
    """The schema version of an open database; 0 for an empty one."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or exists[0] == 0:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(con: Connection) -> list[Migration]:
    """Apply every migration newer than the database; return those applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP))"
    )
    have = current_version(con)
    migrations = available_migrations()
    if have > len(migrations):
        raise StoreError(
            f"database schema version {have} is newer than this newsintel "
            f"({len(migrations)}): upgrade newsintel"
        )
    applied: list[Migration] = []
    for migration in migrations[have:]:
        try:
            with transaction(con):
                con.execute(migration.sql)
                con.execute(
                    "INSERT INTO schema_version (version, name) VALUES (?, ?)",
                    [migration.version, migration.name],
                )
        except duckdb.Error as exc:
            raise StoreError(f"migration {migration.version:03d} failed: {exc}") from None
        applied.append(migration)
    return applied
