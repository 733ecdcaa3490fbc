"""The database: one peewee proxy every model binds to, opened from a URL.

SQLite (WAL, busy timeout, foreign keys on) is the default; a ``postgresql://`` URL
selects PostgreSQL. Models must not rely on SQLite-only behaviour: no untyped columns,
no rowid tricks, explicit foreign keys and indexes.

The database holds prompts and rights records, so its files are the owner's alone: the
folder that holds a SQLite database is 0700 and the database file 0600 (created so before
SQLite opens it, since SQLite gives its -wal, -shm and -journal files the database file's
mode), whatever the umask; looser modes left from before are tightened on open.
``private_folder`` and ``private_sqlite_file`` do the same for the rest of the data folder.
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import logging
import os
import sqlite3
import stat
import threading
import time
import urllib.parse
import weakref
from pathlib import Path
from typing import Any, Callable, Generic, Iterator, TypeVar, cast

import peewee
from playhouse import db_url
from playhouse.pool import PooledDatabase

from .errors import ConfigurationError

log = logging.getLogger("slate.db")
M = TypeVar("M", bound=peewee.Model)
database = peewee.DatabaseProxy()
_sqlite_writer = threading.Lock()

#: how long a writer waits for another's write transaction before "database is locked"
BUSY_TIMEOUT_MS = 10_000
SQLITE_PRAGMAS: dict[str, object] = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": BUSY_TIMEOUT_MS,
    "synchronous": "normal",
}

#: PostgreSQL connections are pooled: a request takes one and gives it back when it ends
#: instead of connecting anew (a TCP handshake, authentication and a backend process start,
#: several milliseconds each time). A connection idle for five minutes is closed rather than
#: reused; a request waits up to 30 s for one when all are taken, then fails clearly.
POSTGRES_POOL = {"max_connections": 32, "stale_timeout": 300, "timeout": 30}


class BaseModel(peewee.Model):
    """A table. What peewee adds to a table at run time, where a checker cannot see it, the
    table declares as bare annotations (which peewee ignores): ``<key>_id`` beside each
    foreign key, and the backrefs read through an instance of it."""

    #: the integer key peewee gives a table that declares none, declared here so that a
    #: checker sees it; a table may still declare its own (a job's is its printable id)
    id: peewee.IntegerField[int] = peewee.AutoField()

    class Meta:
        database = database
        legacy_table_names = False

    @classmethod
    def get_by_id(cls: type[M], pk: Any) -> M:
        """peewee's ``get_by_id`` (``DoesNotExist`` when there is none), its SQL written once
        per database (``hot_get``)."""
        key = cls._meta.primary_key
        if not isinstance(key, peewee.Field) or isinstance(key, peewee.CompositeKey):
            return cls.get(key == pk)
        row = hot_get(cls, key, pk)
        if row is None:
            raise cls.DoesNotExist(f"{cls.__name__} {str(pk)[:40]} does not exist")  # type: ignore[attr-defined]
        return row


def open_database(url: str) -> peewee.Database:
    """Open (and bind the proxy to) the database at ``url``."""
    try:
        if url.startswith("sqlite:///"):
            path = Path(url[len("sqlite:///"):].partition("?")[0])
            if path.name and path.name != ":memory:":
                private_folder(path.parent)
                private_sqlite_file(path)
            db: peewee.Database = db_url.connect(url, pragmas=SQLITE_PRAGMAS)
        elif url.startswith(("postgres://", "postgresql://")):
            db = db_url.connect("postgresql+pool://" + url.partition("://")[2], **POSTGRES_POOL)
        else:
            raise ConfigurationError(
                "SLATE_DATABASE_URL must start with sqlite:/// or postgresql://",
                hint="for example sqlite:///data/slate.db")
        db.connect(reuse_if_open=True)
        if isinstance(db, peewee.SqliteDatabase) and sqlite3.sqlite_version_info < (3, 35, 0):
            db.close()
            raise ConfigurationError(
                f"this Python's SQLite is {sqlite3.sqlite_version}; Slate needs 3.35 or newer (UPDATE ... RETURNING)",
                hint="use a Python built with a newer SQLite, or PostgreSQL")
    except peewee.OperationalError as exc:
        raise ConfigurationError(
            f"cannot open the database: {type(exc).__name__}",
            hint="check SLATE_DATABASE_URL and that the server is running") from None
    except OSError as exc:
        raise ConfigurationError(
            f"cannot prepare the database file: {exc.strerror}",
            hint="check SLATE_DATABASE_URL and that Slate may write to the data folder") from None
    database.initialize(db)
    return db


def database_exists(url: str) -> bool:
    """Whether a SQLite ``url`` names a file that exists; a server's database is taken to."""
    if url.startswith("sqlite:///"):
        return _sqlite_path(url).is_file()
    return True


def _sqlite_path(url: str) -> Path:
    return Path(url[len("sqlite:///"):].partition("?")[0])


def open_database_readonly(url: str) -> bool:
    """Open (and bind the proxy to) the database at ``url`` for reading only, never creating,
    migrating or writing anything; False when there is no database there to open.

    For ``slate verify``, which must leave no trace. A SQLite file is opened ``mode=ro``;
    while another process holds it open (its ``-wal`` and ``-shm`` beside it) the reader joins
    that WAL (taking its read lock in the ``-shm`` shared memory, as every SQLite reader must,
    and seeing what the writer committed), else it reads the file as ``immutable`` (a plain
    ``mode=ro`` reader of a WAL database would leave new ``-wal`` and ``-shm`` files behind).
    PostgreSQL sessions are made read-only, so a bug cannot write either."""
    try:
        if url.startswith("sqlite:///"):
            path = _sqlite_path(url)
            if not path.name or path.name == ":memory:" or not path.is_file():
                return False
            live = all(path.with_name(path.name + s).exists() for s in ("-wal", "-shm"))
            uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro" + ("" if live else "&immutable=1")
            db: peewee.Database = peewee.SqliteDatabase(uri, uri=True, pragmas={"foreign_keys": 1,
                                                                                "busy_timeout": 10_000})
        elif url.startswith(("postgres://", "postgresql://")):
            db = db_url.connect(url, options="-c default_transaction_read_only=on")
        else:
            raise ConfigurationError("SLATE_DATABASE_URL must start with sqlite:/// or postgresql://",
                                     hint="for example sqlite:///data/slate.db")
        db.connect(reuse_if_open=True)
    except peewee.OperationalError as exc:
        raise ConfigurationError(f"cannot open the database for reading: {type(exc).__name__}",
                                 hint="check SLATE_DATABASE_URL, or verify with --kit DIR instead") from None
    database.initialize(db)
    return True


@contextlib.contextmanager
def reading_database(url: str) -> Iterator[bool]:
    """``open_database_readonly`` for the length of a block, then the database the proxy was
    bound to before (a test's, say) is bound again. Yields whether there was one to open."""
    previous = database.obj
    opened = open_database_readonly(url)
    try:
        yield opened
    except peewee.DatabaseError as exc:
        # a read-only reader of a live SQLite studio may meet pages a writer is changing (it
        # opened ``immutable`` when no writer was there): a clear answer, never a traceback
        raise ConfigurationError(f"the studio's database could not be read ({type(exc).__name__}): it may have "
                                 "changed while it was read",
                                 hint="run it again; or verify with --kit DIR") from None
    finally:
        if opened:
            database.close()
            database.initialize(previous)


# ---------------------------------------------------------------- private files

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600
#: What SQLite writes beside a database file; it creates them with the database file's mode.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_folder(path: Path, top: Path | None = None) -> Path:
    """Make ``path`` a folder only its owner can use (0700) whatever the umask, tightening
    it if it exists; with ``top`` (an ancestor of ``path``; anything else is ignored), every
    folder from ``top`` down to ``path`` too."""
    chain = [path]
    if top is not None and top in path.parents:
        chain += path.parents[:path.parents.index(top) + 1]
    for folder in reversed(chain):
        folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
        _tighten(folder, PRIVATE_FOLDER)
    return path


def private_sqlite_file(path: Path) -> Path:
    """Create the SQLite database file at ``path`` 0600 if it is missing (an empty file is an
    empty database to SQLite), and tighten it and any -wal, -shm or -journal beside it."""
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        try:
            os.fchmod(fd, PRIVATE_FILE)  # the umask filtered the mode os.open was given
        finally:
            os.close(fd)
    for companion in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS)):
        with contextlib.suppress(FileNotFoundError):
            _tighten(companion, PRIVATE_FILE)
    return path


def _tighten(path: Path, most: int) -> None:
    """Take away every permission bit beyond ``most``; never add one. A shared folder (the
    sticky bit, as on /tmp), a filesystem root and what another user owns are left as they
    are, with a warning: Slate's data does not belong there, and changing them would harm
    others."""
    status = os.stat(path)
    mode = stat.S_IMODE(status.st_mode)
    if not mode & ~most:
        return
    shared = mode & stat.S_ISVTX or path.resolve().parent == path.resolve() or status.st_uid != os.geteuid()
    if shared:
        log.warning("%s is open to others (mode %o) and is not Slate's to change; keep Slate's data "
                    "in a folder of its own", path, mode)
        return
    os.chmod(path, mode & most)


def close_database() -> None:
    """Close this thread's connection and, for a pooled PostgreSQL database, every idle one
    the pool keeps, so that nothing holds the database open once Slate is done with it."""
    if database.obj is not None and not database.is_closed():
        database.close()
    if isinstance(database.obj, PooledDatabase):
        database.obj.close_idle()


def release_connection() -> None:
    """The end of one request's use of the database.

    A SQLite connection stays open for the thread's next request: opening one runs its
    pragmas, and closing the last one checkpoints the write-ahead log, milliseconds each that
    a request does not need (no transaction stays open between requests, so a kept
    connection holds no snapshot and no lock). A pooled PostgreSQL connection goes back to
    the pool. Anything a failed request left uncommitted is rolled back first."""
    if database.obj is None or database.is_closed():
        return
    if database.in_transaction():
        # a bug left a transaction open: nothing of it may reach the next request
        log.error("a request ended inside a database transaction; it was rolled back")
        database.rollback()
        while database.in_transaction():
            database.pop_transaction()
        _at_commit.set(None)
        _savepoints.set(0)
        database.close()
        return
    if not isinstance(database.obj, peewee.SqliteDatabase):
        database.close()


def get_or_create(model: type[M], **fields: Any) -> tuple[M, bool]:
    """``model.get_or_create(**fields)``: the row, and whether it was created (peewee's stubs
    leave that method unannotated)."""
    row, created = model.get_or_create(**fields)
    return row, bool(created)


def first(query: peewee.ModelSelect[M]) -> M | None:
    """``query.first()``: its first row, or None (peewee's stubs leave that method unannotated)."""
    row: M | None = query.first()
    return row


def lock_row(model: type[M], row_id: int) -> None:
    """Hold ``row_id`` of ``model`` until the transaction ends, where the database has row
    locks (PostgreSQL: SELECT ... FOR UPDATE). SQLite's writers are already one at a time
    (every transaction begins IMMEDIATE), so there it is nothing."""
    if isinstance(database.obj, peewee.PostgresqlDatabase):
        list(model.select(model._meta.primary_key).where(model._meta.primary_key == row_id).for_update())


def tuples(query: peewee.SelectBase) -> Iterator[tuple[Any, ...]]:
    """The rows of ``query`` as plain tuples, as ``query.tuples()`` gives them; peewee's stubs
    type that as the query itself, as if it still yielded model instances."""
    return cast("Iterator[tuple[Any, ...]]", iter(query.tuples()))


@contextlib.contextmanager
def transaction() -> Iterator[None]:
    """One atomic unit of work: everything a command writes, or nothing.

    On SQLite the outermost transaction starts IMMEDIATE: it takes the write lock up
    front (waiting up to the busy timeout) instead of reading first and failing with
    "database is locked" when it later tries to write while another process holds the lock.
    Nested calls are savepoints. Work handed to ``at_commit`` runs, in order, inside the
    outermost transaction just before it commits; what a savepoint that rolled back handed
    over is dropped with it.
    """
    if database.in_transaction():
        pending = _at_commit.get()
        mark = len(pending) if pending is not None else 0
        depth = _savepoints.set(_savepoints.get() + 1)
        try:
            with database.atomic():
                yield
        except BaseException:
            if pending is not None:
                del pending[mark:]
            raise
        finally:
            _savepoints.reset(depth)
        return
    pending = []
    token = _at_commit.set(pending)
    try:
        if isinstance(database.obj, peewee.SqliteDatabase):
            # threads of one process queue on a fair lock, and processes on a file lock beside
            # the database, rather than in SQLite's busy handler, whose sleeps grow to 100 ms
            # and made tail latency under load seconds long
            with _sqlite_writer, _writer_file_lock(database.obj), database.atomic(lock_type="IMMEDIATE"):
                yield
                _run(pending)
        else:
            with database.atomic():
                yield
                _run(pending)
    finally:
        _at_commit.reset(token)


@contextlib.contextmanager
def _writer_file_lock(db: peewee.Database) -> Iterator[None]:
    """An exclusive ``flock`` on ``<database>-writer.lock`` for the length of a write
    transaction. Several processes writing one SQLite file (gunicorn's workers) otherwise
    meet in SQLite's busy handler, which polls with sleeps up to 100 ms however soon the
    lock is free; this one is tried every few milliseconds at most. Like SQLite's own, the
    wait is bounded (``WRITER_WAIT_S``, the busy timeout): a writer stopped while holding it
    (a suspended CLI) makes the others fail with "database is locked", never hang. A process
    that does not take it (an older Slate, the sqlite3 shell) still waits in the busy
    handler: the lock orders Slate's writers, SQLite's own lock keeps the file safe; where
    the lock file cannot be opened (another user's), SQLite's lock alone is used."""
    name = str(getattr(db, "database", "") or "")
    fd = _writer_lock_fd(name) if name and name != ":memory:" and not name.startswith("file:") else None
    if fd is None:
        yield
        return
    deadline, pause = time.monotonic() + WRITER_WAIT_S, 0.0005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise peewee.OperationalError("database is locked") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.004)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


#: how long a writer waits for another process's write transaction (SQLite's busy timeout)
WRITER_WAIT_S = BUSY_TIMEOUT_MS / 1000
#: (process id, database file) -> the lock file's descriptor (None: it cannot be opened)
_writer_fds: dict[tuple[int, str], int | None] = {}


def _writer_lock_fd(name: str) -> int | None:
    key = (os.getpid(), name)  # a forked child opens its own: a shared descriptor shares the lock
    if key not in _writer_fds:
        try:
            _writer_fds[key] = os.open(name + "-writer.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
        except OSError as exc:
            log.warning("the writers' lock beside %s cannot be opened (%s): writers wait in SQLite's busy "
                        "handler instead", name, exc.strerror)
            _writer_fds[key] = None
    return _writer_fds[key]


#: the outermost ``transaction``'s work waiting for its commit (see ``at_commit``)
_at_commit: contextvars.ContextVar[list[Callable[[], object]] | None] = \
    contextvars.ContextVar("slate_at_commit", default=None)


#: how many savepoints deep the current ``transaction`` is (0: the outermost)
_savepoints: contextvars.ContextVar[int] = contextvars.ContextVar("slate_savepoints", default=0)


def at_commit(work: Callable[[], object]) -> bool:
    """Have ``work`` done inside the current transaction just before it commits; False, and
    nothing kept, when no ``transaction`` is open (the caller does it now).

    For writes every transaction makes to one hot row (the audit log's head): done last,
    the row's lock is held for the commit only, not for the whole transaction, so on
    PostgreSQL unrelated writers no longer wait for each other's work."""
    pending = _at_commit.get()
    if pending is None or not database.in_transaction():
        return False
    pending.append(work)
    return True


def run_at_commit_work_now() -> None:
    """Do the current transaction's ``at_commit`` work now, in order: for a reader inside the
    transaction that must see it (a checkpoint over the audit entries it recorded). Only in
    the outermost transaction: done inside a savepoint, work that belongs to the levels
    around it would roll back with the savepoint and be lost; there it stays for the commit."""
    pending = _at_commit.get()
    if pending and _savepoints.get() == 0:
        _run(pending)


def _run(pending: list[Callable[[], object]]) -> None:
    while pending:
        pending.pop(0)()


class HotInsert:
    """An insert on a hot path (signing) that reuses its SQL.

    peewee builds SQL in Python on every call, about 0.3 ms for a wide row; that is a tenth
    of a C2PA signature. The SQL is built by peewee once per database and checked against
    peewee's own parameters, so the fast path cannot drift from what peewee would run.

    Plans are kept per database object, weakly: never by ``id()``, which Python reuses once
    an object is freed, so SQL written for a closed SQLite database (``?``) was once run on
    the PostgreSQL database opened after it (``%s``).
    """

    def __init__(self, model: type[peewee.Model]) -> None:
        self.model = model
        self._plans: weakref.WeakKeyDictionary[peewee.Database, tuple[str, list[peewee.Field]] | None] = \
            weakref.WeakKeyDictionary()

    def __call__(self, **values: object) -> int:
        db = database.obj
        if db not in self._plans:
            return self._plan(db, values)
        plan = self._plans[db]
        if plan is None:  # peewee's SQL could not be reused for this database
            return int(self.model.insert(**values).execute())
        sql, fields = plan
        cursor = database.execute_sql(sql, [f.db_value(values[f.name]) for f in fields])
        return self._row_id(db, cursor)

    def _plan(self, db: peewee.Database, values: dict[str, object]) -> int:
        query = self.model.insert(**values)
        sql, params = query.sql()
        fields = [f for f in self.model._meta.sorted_fields if f.name in values]
        mine = [f.db_value(values[f.name]) for f in fields]
        self._plans[db] = (sql, fields) if mine == list(params) else None
        return int(query.execute())

    @staticmethod
    def _row_id(db: peewee.Database, cursor: object) -> int:
        if isinstance(db, peewee.PostgresqlDatabase):
            return int(cursor.fetchone()[0])  # type: ignore[attr-defined]
        return int(cursor.lastrowid)  # type: ignore[attr-defined]


class HotSelect(Generic[M]):
    """A select on a hot path whose SQL peewee writes once per database.

    ``build(*values)`` makes the query. Its SQL must depend on the query's shape only, never
    on the values, and the plan checks what it can: the parameters peewee wrote must begin
    with exactly the values as ``fields`` convert them; any after those are the query's own
    constants (a fixed status, LIMIT 1) and are kept with the SQL. A query that fails the
    check (an ``in_`` over a list, say) runs through peewee every time. Rows come back as
    peewee makes them (joined models included), from the plan's query's own cursor wrapper.
    """

    def __init__(self, build: Callable[..., peewee.ModelSelect[M]], *fields: peewee.Field) -> None:
        self.build, self.fields = build, fields
        self._plans: weakref.WeakKeyDictionary[peewee.Database, tuple[str, Any, list[Any]] | None] = \
            weakref.WeakKeyDictionary()

    def all(self, *values: object) -> list[M]:
        db = database.obj
        if db not in self._plans:
            query = self.build(*values)
            sql, params = query.sql()
            mine = [f.db_value(v) for f, v in zip(self.fields, values, strict=True)]
            fits = len(values) == len(self.fields) and list(params[:len(mine)]) == mine
            if fits or all(v is not None for v in values):
                # a None was written as ``IS NULL``: that says nothing of the query's shape,
                # so the next call, with values, decides whether it has a plan
                self._plans[db] = (sql, query, list(params[len(mine):])) if fits else None
            return list(query)
        plan = self._plans[db]
        if plan is None or None in values:  # peewee writes ``IS NULL`` for a None, not ``= ?``
            return list(self.build(*values))
        sql, query, constants = plan
        cursor = database.execute_sql(sql, [f.db_value(v) for f, v in zip(self.fields, values, strict=True)]
                                      + constants)
        return list(query._get_cursor_wrapper(cursor))

    def first(self, *values: object) -> M | None:
        found = self.all(*values)
        return found[0] if found else None


_hot_gets: dict[tuple[type[peewee.Model], str], HotSelect[Any]] = {}


def hot_get(model: type[M], field: peewee.Field, value: object) -> M | None:
    """``model.get_or_none(field == value)`` with its SQL written once per database: the
    lookups every request makes (a record by id, a production or a model by name) cost a
    quarter of a millisecond each in peewee's SQL writer, and a request makes dozens."""
    key = (model, field.name)
    hot = _hot_gets.get(key)
    if hot is None:
        hot = _hot_gets.setdefault(key, HotSelect(lambda v: model.select().where(field == v).limit(1), field))
    row: M | None = hot.first(value)
    return row


class HotLookup(HotSelect[M]):
    """``SELECT * FROM table WHERE field = ?`` on a hot path (verification): a ``HotSelect``
    of every row whose ``field`` is the value."""

    def __init__(self, model: type[M], field: peewee.Field) -> None:
        super().__init__(lambda value: model.select().where(field == value), field)
