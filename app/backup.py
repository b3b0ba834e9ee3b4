"""`policylab backup FILE`: a consistent copy of the database while the server runs."""

import sqlite3
from pathlib import Path

from sqlalchemy import URL, make_url

from app.i18n import _


class BackupRefused(Exception):
    """Nothing was written; the message says why and what to do instead."""


def sqlite_path(database_url: str) -> Path | None:
    """The database file of a SQLite URL, or None for another database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupRefused(_("An in-memory SQLite database cannot be backed up."))
    return Path(url.database)


def backup_sqlite(source: Path, target: Path) -> dict[str, int]:
    """Copy `source` to `target` with SQLite's online backup API: one consistent snapshot,
    taken while other processes go on writing (they wait at most for the copy's read of each
    page; with WAL they do not wait at all). Checks the copy; returns its row counts."""
    if not source.exists():
        raise BackupRefused(_("There is no database at %(path)s.", path=source))
    if target.exists():
        raise BackupRefused(_("%(path)s exists already; choose a new file name.", path=target))
    target.parent.mkdir(parents=True, exist_ok=True)
    live = sqlite3.connect(source, timeout=30)
    copy = sqlite3.connect(target)
    try:
        live.backup(copy)  # all pages in one step: a single read snapshot
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        status = copy.execute("PRAGMA integrity_check").fetchone()[0]
        if status != "ok":
            raise BackupRefused(_("The copy failed its integrity check: %(status)s", status=status))
        tables = [
            row[0]
            for row in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {
            table: int(copy.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
            for table in tables
        }
    finally:
        copy.close()
        live.close()


def pg_dump_command(database_url: str, target: str) -> str:
    """The `pg_dump` command that backs up a PostgreSQL database (the password is left out:
    pg_dump reads it from PGPASSWORD or ~/.pgpass)."""
    url = make_url(database_url)
    libpq = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    ).render_as_string()
    return f"pg_dump --format=custom --no-owner --file={_quote(target)} {_quote(libpq)}"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"
