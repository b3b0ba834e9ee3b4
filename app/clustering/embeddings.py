"""Semantic embeddings of contributions: computed once, stored, reused by every suggestion.

A contribution is embedded off the request path: after the transaction that adds (or edits)
it commits, its id goes to a worker thread of the process (`EmbeddingWorker`, started with
the app) that embeds the new texts in small batches and stores them in
`contribution_embeddings`. "Suggest", "Where does this go?" and the duplicate check read the
stored rows (`vectors_for`) and embed on demand whatever is still missing (a note submitted
a moment ago, rows of an older model), storing those too. Rows carry the model name and
version and a hash of the text: a new model or an edited note is embedded again.

Several worker processes may share the table (PostgreSQL): each stores with an idempotent
upsert, so two processes embedding the same note at once both succeed with the same row.
"""

import hashlib
import logging
import queue
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, event, inspect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Field, Session, SQLModel, col, select

from app.clustering.embedders import (
    SEMANTIC_DIMENSIONS,
    preload_semantic_model,
    semantic_model_version,
    semantic_vectors,
)
from app.db import READ_ONLY
from app.models_base import created_at_field, utcnow
from app.sessions.models import Contribution

logger = logging.getLogger(__name__)

PENDING_KEY = "policylab_pending_embeddings"
# Contributions embedded per batch by the worker (a burst of submissions shares one pass).
BATCH_SIZE = 64


class ContributionEmbedding(SQLModel, table=True):
    """The semantic vector of one contribution's text, as one model computed it."""

    __tablename__ = "contribution_embeddings"

    contribution_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("contributions.id", ondelete="CASCADE"), primary_key=True
        )
    )
    model: str = Field(max_length=100)
    text_hash: str = Field(max_length=64)
    # float32, little-endian, SEMANTIC_DIMENSIONS values (all zero: a language the model
    # lacks, so the n-gram engine alone compares it).
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = created_at_field()


def text_hash(text: str) -> str:
    """What identifies the embedded text (an edited contribution no longer matches)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def _from_bytes(data: bytes) -> np.ndarray | None:
    vector = np.frombuffer(data, dtype="<f4")
    return vector if vector.shape == (SEMANTIC_DIMENSIONS,) else None


def load_vectors(db: Session, contributions: Sequence[Contribution]) -> dict[int, np.ndarray]:
    """Stored vectors that still match the contributions' texts and the model: id → row."""
    ids = [c.id for c in contributions if c.id is not None]
    if not ids:
        return {}
    model = semantic_model_version()
    texts = {c.id: c.text for c in contributions}
    found: dict[int, np.ndarray] = {}
    for start in range(0, len(ids), 500):
        rows = db.exec(
            select(
                ContributionEmbedding.contribution_id,
                ContributionEmbedding.model,
                ContributionEmbedding.text_hash,
                ContributionEmbedding.vector,
            ).where(col(ContributionEmbedding.contribution_id).in_(ids[start : start + 500]))
        )
        for contribution_id, row_model, row_hash, data in rows:
            if row_model != model or row_hash != text_hash(texts[contribution_id]):
                continue
            vector = _from_bytes(data)
            if vector is not None:
                found[contribution_id] = vector
    return found


def store_vectors(engine: Engine, items: Sequence[tuple[int, str, np.ndarray]]) -> int:
    """Upsert (contribution id, text, vector) rows in their own short transaction.

    Best effort: returns how many were stored; a contribution deleted meanwhile is skipped,
    and a database that refuses (busy, read-only) only means they are embedded again later.
    """
    if not items:
        return 0
    rows = _rows(items)
    try:
        with engine.begin() as connection:
            _upsert(connection, rows)
        return len(rows)
    except SQLAlchemyError:
        pass
    stored = 0
    for row in rows:  # one refused row (its contribution was deleted) must not stop the rest
        try:
            with engine.begin() as connection:
                _upsert(connection, [row])
            stored += 1
        except SQLAlchemyError as exc:
            logger.debug("embedding of contribution %s not stored: %s", row["contribution_id"], exc)
    return stored


def _rows(items: Sequence[tuple[int, str, np.ndarray]]) -> list[dict[str, Any]]:
    model = semantic_model_version()
    return [
        {
            "contribution_id": contribution_id,
            "model": model,
            "text_hash": text_hash(text),
            "vector": _to_bytes(vector),
            "created_at": utcnow(),
        }
        for contribution_id, text, vector in items
    ]


def _upsert(connection: Connection | Session, rows: list[dict[str, Any]]) -> None:
    table = ContributionEmbedding.__table__  # type: ignore[attr-defined]
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    dialect = bind.dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql_insert(table).values(rows)
    elif dialect == "sqlite":
        statement = sqlite_insert(table).values(rows)
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise SQLAlchemyError(f"No upsert for {dialect}")
    statement = statement.on_conflict_do_update(
        index_elements=["contribution_id"],
        set_={
            "model": statement.excluded.model,
            "text_hash": statement.excluded.text_hash,
            "vector": statement.excluded.vector,
            "created_at": statement.excluded.created_at,
        },
    )
    connection.execute(statement)  # type: ignore[call-overload]


def _engine_of(db: Session) -> Engine | None:
    try:
        bind = db.get_bind()
    except Exception:
        return None
    return bind.engine if isinstance(bind, Connection | Engine) else None


def vectors_for(db: Session, contributions: Sequence[Contribution]) -> dict[str, np.ndarray]:
    """Semantic vectors of the contributions' texts (text → row): the stored ones, and the
    missing ones embedded now and kept for next time (see `_keep`)."""
    stored = load_vectors(db, contributions)
    missing = [c for c in contributions if c.id not in stored]
    known = {c.text: stored[c.id] for c in contributions if c.id in stored}  # type: ignore[index]
    if missing:
        texts = list(dict.fromkeys(c.text for c in missing))
        computed = dict(zip(texts, semantic_vectors(texts), strict=True))
        known.update(computed)
        _keep(db, [(c.id, c.text, computed[c.text]) for c in missing])  # type: ignore[misc]
    return known


def _keep(db: Session, items: list[tuple[int, str, np.ndarray]]) -> None:
    """Store vectors computed during a request without ever waiting on a write lock.

    A writing unit of work already holds SQLite's write lock (another connection would wait
    for it until the request ends): the rows join it, in a savepoint, and commit with it.
    A read-only one must not write: the worker thread stores them, or, without a worker
    (CLI, scripts), a short transaction of its own.
    """
    engine = _engine_of(db)
    if engine is None:
        return
    if not engine.get_execution_options().get(READ_ONLY):
        try:
            with db.begin_nested():
                _upsert(db, _rows(items))
        except SQLAlchemyError as exc:
            logger.debug("embeddings not stored with the request: %s", exc)
        return
    workers = _workers_for(db)
    if workers:
        workers[0].store_later(items)
    else:
        store_vectors(engine, items)


def embed_contributions(engine: Engine, ids: Iterable[int]) -> int:
    """Embed and store the given contributions that have no up-to-date row; how many."""
    wanted = sorted(set(ids))
    if not wanted:
        return 0
    model = semantic_model_version()
    with Session(engine.execution_options(**{READ_ONLY: True})) as db:
        texts = dict(
            db.exec(
                select(Contribution.id, Contribution.text).where(col(Contribution.id).in_(wanted))
            ).all()
        )
        current = {
            contribution_id
            for contribution_id, row_model, row_hash in db.exec(
                select(
                    ContributionEmbedding.contribution_id,
                    ContributionEmbedding.model,
                    ContributionEmbedding.text_hash,
                ).where(col(ContributionEmbedding.contribution_id).in_(wanted))
            )
            if row_model == model and row_hash == text_hash(texts.get(contribution_id, ""))
        }
    missing = [(i, t) for i, t in texts.items() if i is not None and i not in current]
    if not missing:
        return 0
    vectors = semantic_vectors([t for _, t in missing])
    return store_vectors(engine, [(i, t, v) for (i, t), v in zip(missing, vectors, strict=True)])


_Job = tuple[list[int], list[tuple[int, str, np.ndarray]]]


class EmbeddingWorker:
    """A thread of this process that embeds contributions after their transaction commits."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Each job: contribution ids to embed, and vectors computed elsewhere to store.
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()

    def start(self) -> None:
        """Start the thread (it first loads the model, so the first Suggest need not)."""
        if self._thread is not None:
            return
        _workers.append(self)
        self._thread = threading.Thread(target=self._run, name="policylab-embeddings", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand and stop; what is still queued is embedded on demand."""
        if self in _workers:
            _workers.remove(self)
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    def submit(self, ids: Iterable[int]) -> None:
        """Queue contributions for embedding (returns at once)."""
        batch = [i for i in ids if i is not None]
        if batch and self._thread is not None:
            self._idle.clear()
            self._queue.put((batch, []))

    def store_later(self, items: list[tuple[int, str, np.ndarray]]) -> None:
        """Queue vectors computed elsewhere for storing (returns at once)."""
        if items and self._thread is not None:
            self._idle.clear()
            self._queue.put(([], items))

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until everything submitted so far is embedded (for tests and the CLI)."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        try:
            preload_semantic_model()
        except Exception:
            logger.exception("the semantic model could not be loaded; embedding on demand")
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is None:
                break
            ids, ready = set(item[0]), list(item[1])
            while len(ids) + len(ready) < BATCH_SIZE:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                ids.update(more[0])
                ready.extend(more[1])
            try:
                store_vectors(self.engine, ready)
                embed_contributions(self.engine, ids - {i for i, _, _ in ready})
            except Exception:
                logger.exception("embedding %d contributions failed", len(ids) + len(ready))
            if self._queue.empty():
                self._idle.set()
        self._idle.set()


_workers: list[EmbeddingWorker] = []


def _workers_for(db: Session) -> list[EmbeddingWorker]:
    engine = _engine_of(db)
    if engine is None:
        return []
    return [w for w in _workers if w.engine.url == engine.url]


def _after_flush(db: Session, _context: Any) -> None:
    ids = db.info.get(PENDING_KEY)
    for item in (*db.new, *db.dirty):
        if not isinstance(item, Contribution) or item.id is None:
            continue
        if item in db.new or inspect(item).attrs.text.history.has_changes():
            if ids is None:
                ids = db.info[PENDING_KEY] = set()
            ids.add(item.id)


def _after_commit(db: Session) -> None:
    if db.in_nested_transaction():  # a SAVEPOINT released: the real commit is still to come
        return
    ids = db.info.pop(PENDING_KEY, None)
    if ids:
        for worker in _workers_for(db):
            worker.submit(ids)


def _after_rollback(db: Session) -> None:
    if not db.in_nested_transaction():
        db.info.pop(PENDING_KEY, None)


def install_embedding_hook() -> None:
    """Hand new and edited contributions to the worker after (and only after) they commit."""
    for name, listener in (
        ("after_flush", _after_flush),
        ("after_commit", _after_commit),
        ("after_rollback", _after_rollback),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
