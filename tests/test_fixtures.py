"""The database fixtures themselves: every test gets a migrated database of its own that
holds no rows of any other test (the same test runs three times, so that at least two of
the runs follow another on the same worker), on every backend."""

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session, SQLModel

from app.db import alembic_config, open_session
from app.sessions.models import WorkshopSession
from tests.conftest import create_workshop, fresh, worker_database_url


def rows(db: Session) -> dict[str, int]:
    """Rows in every table of the models, now."""
    fresh(db)
    return {
        table.name: int(db.execute(select(func.count()).select_from(table)).scalar_one())
        for table in SQLModel.metadata.sorted_tables
    }


@pytest.mark.parametrize("attempt", range(3))
def test_the_app_starts_on_a_database_without_rows(
    client: TestClient, db: Session, attempt: int
) -> None:
    assert set(rows(db).values()) == {0}
    create_workshop(client, participants=2)
    counts = rows(db)
    assert counts["sessions"] == 1 and counts["participants"] == 2
    # Ids start again at 1, as on a new database.
    assert db.execute(select(WorkshopSession.id)).scalar_one() == 1  # type: ignore[call-overload]


@pytest.mark.parametrize("attempt", range(3))
def test_a_service_test_gets_a_migrated_database_it_may_write(
    db_session: Session, db_engine: Engine, database_url: str, attempt: int
) -> None:
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert db_session.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
    assert set(rows(db_session).values()) == {0}
    db_session.add(
        WorkshopSession(code=f"FIXTURE{attempt}", title="Fixtures", facilitator_token_hash="0" * 64)
    )
    db_session.commit()
    with open_session(db_engine, read_only=True) as other:
        assert rows(other)["sessions"] == 1


def test_each_xdist_worker_has_a_postgresql_database_of_its_own() -> None:
    url = "postgresql+psycopg://lab:p%40ss@db:5432/policylab_test"
    assert (
        worker_database_url(url, "gw1")
        == "postgresql+psycopg://lab:p%40ss@db:5432/policylab_test_gw1"
    )
    assert worker_database_url(url, None) == url
    assert worker_database_url(None, "gw0") is None
