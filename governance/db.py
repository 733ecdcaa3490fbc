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
import logging
import os
import stat
import threading
import urllib.parse
import weakref
from pathlib import Path
from typing import Any, Generic, Iterator, TypeVar, cast

import peewee
from playhouse import db_url

from .errors import ConfigurationError

log = logging.getLogger("slate.db")
M = TypeVar("M", bound=peewee.Model)
database = peewee.DatabaseProxy()
_sqlite_writer = threading.Lock()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10_000,
    "synchronous": "normal",
}


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
            db = db_url.connect(url)
        else:
            raise ConfigurationError(
                "SLATE_DATABASE_URL must start with sqlite:/// or postgresql://",
                hint="for example sqlite:///data/slate.db")
        db.connect(reuse_if_open=True)
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
    if database.obj is not None and not database.is_closed():
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
    Nested calls are savepoints.
    """
    if isinstance(database.obj, peewee.SqliteDatabase) and not database.in_transaction():
        # threads of one process queue on a fair lock rather than in SQLite's busy handler,
        # whose sleeps grow to 100 ms and made tail latency under load seconds long
        with _sqlite_writer, database.atomic(lock_type="IMMEDIATE"):
            yield
    else:
        with database.atomic():
            yield


def _per_database() -> weakref.WeakKeyDictionary[Any, Any]:
    """A cache keyed by the database object itself, forgotten with it. Keyed by ``id(db)``,
    a database opened after another was dropped could get its id, and with it SQL written
    for the other's dialect."""
    return weakref.WeakKeyDictionary()


class HotInsert:
    """An insert on a hot path (signing) that reuses its SQL.

    peewee builds SQL in Python on every call, about 0.3 ms for a wide row; that is a tenth
    of a C2PA signature. The SQL is built by peewee once per database and checked against
    peewee's own parameters, so the fast path cannot drift from what peewee would run.

    The SQL is kept per database *object*, weakly (``_per_database``), never per ``id()``: a
    closed database's id is reused by the next object allocated there, and SQLite's ``?`` SQL
    then ran on a PostgreSQL connection opened after it (the flaky migration test).
    """

    def __init__(self, model: type[peewee.Model]) -> None:
        self.model = model
        self._plans: weakref.WeakKeyDictionary[peewee.Database, tuple[str, list[peewee.Field]] | None] = \
            _per_database()

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


class HotLookup(Generic[M]):
    """``SELECT * FROM table WHERE field = ?`` on a hot path (verification), SQL built once.

    Same bargain as ``HotInsert``: peewee writes the SQL once per database; rows come back
    as model instances through each field's own ``python_value``.
    """

    def __init__(self, model: type[M], field: peewee.Field) -> None:
        self.model = model
        self.field = field
        self._sql: weakref.WeakKeyDictionary[peewee.Database, str] = _per_database()
        self._fields = list(model._meta.sorted_fields)

    def all(self, value: object) -> list[M]:
        db = database.obj
        sql = self._sql.get(db)
        if sql is None:
            sql, params = self.model.select().where(self.field == value).sql()
            if list(params) != [self.field.db_value(value)]:
                return list(self.model.select().where(self.field == value))
            self._sql[db] = sql
        rows = database.execute_sql(sql, [self.field.db_value(value)]).fetchall()
        return [self.model(**{f.name: f.python_value(v) for f, v in zip(self._fields, row, strict=True)})
                for row in rows]

    def first(self, value: object) -> M | None:
        found = self.all(value)
        return found[0] if found else None
