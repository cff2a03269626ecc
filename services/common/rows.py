"""New rows written with Core inserts, together: where the ORM adds nothing (rows nobody
reads back in the transaction: outbox rows, history, a new ticket and its clocks), a unit of
work queues them and writes them all at commit.

On PostgreSQL a small write (a create: its row, clocks, history, events) goes in one
statement, each table a data-modifying ``WITH`` clause, one round trip for any number of
tables. That statement is built once per shape (the tables and columns of its rows, in
order) with named parameters, so SQLAlchemy compiles it once and reuses it; a multi-row
``VALUES`` would have no cache key and be compiled anew on every commit. A larger write
(SQLite, in process, or many rows) takes one cached ``executemany`` per table and set of
columns, which SQLAlchemy sends as multi-row inserts."""
from functools import lru_cache

from sqlalchemy import bindparam, cast, insert, inspect, select, union_all

from services.common.db import is_postgres

# Up to this many rows, one statement with a WITH clause per table; beyond, an executemany
# per table (a bulk import's hundreds of events would otherwise make a statement per count).
ONE_STATEMENT_ROWS = 16


def row_of(record) -> tuple:
    """``(table, values)`` of a new, unsaved ORM object: the columns it sets, and the scalar
    defaults of those it leaves (set on the object too, as a flush would, so it reads the
    same as a saved one)."""
    mapper = inspect(type(record))
    values = {}
    for attribute in mapper.column_attrs:
        key = attribute.key
        if key not in record.__dict__:
            default = attribute.columns[0].default
            if default is None or not default.is_scalar:
                continue
            setattr(record, key, default.arg)
        values[key] = record.__dict__[key]
    return mapper.local_table, values


def insert_together(session, rows, final=None, parameters=None):
    """Insert ``rows`` (``(table, values)`` pairs), then run ``final`` (a statement whose
    result the caller wants, or None) with its bind ``parameters``; return ``final``'s
    result. Rows go in the order queued, parents before the children whose foreign keys
    point at them; in one statement foreign keys are checked at its end, so a parent and
    its children can share one. A ``final`` built once (the same object every time) is
    joined to the rows' inserts once per shape of rows."""
    if rows and is_postgres(session) and len(rows) <= ONE_STATEMENT_ROWS:
        return _in_one_statement(session, rows, final, parameters)
    for (table, _columns), values in _grouped(((table, tuple(values)), values)
                                              for table, values in rows).items():
        session.execute(insert(table), values)
    return session.execute(final, parameters) if final is not None else None


def _grouped(pairs) -> dict:
    """The items of ``(key, item)`` pairs per key (a table and its columns), keys in the order
    first seen."""
    groups = {}
    for key, item in pairs:
        groups.setdefault(key, []).append(item)
    return groups


def _in_one_statement(session, rows, final, parameters):
    """``rows`` as ``WITH`` clauses of ``final`` (or the last table's insert its statement)."""
    shape = tuple((table, tuple(values)) for table, values in rows)
    values = {f"row{n}_{column}": value
              for n, (_table, row) in enumerate(rows) for column, value in row.items()}
    if final is None:
        session.execute(_joined(shape), values)
        return None
    return session.execute(_with_inserts(final, shape), {**values, **(parameters or {})})


@lru_cache(maxsize=256)
def _table_inserts(shape) -> tuple:
    """An insert per table and set of columns of ``shape``, its rows selected from named
    parameters (``row<n>_<column>``) in the order queued: the order they are stored in, as
    a multi-row ``VALUES`` would (which SQLAlchemy cannot cache)."""
    groups = _grouped((table_and_columns, n) for n, table_and_columns in enumerate(shape))
    return tuple(insert(table).from_select(columns, union_all(*(
        select(*(cast(bindparam(f"row{n}_{column}", type_=table.c[column].type),
                      table.c[column].type) for column in columns)) for n in numbers)))
        for (table, columns), numbers in groups.items())


@lru_cache(maxsize=256)
def _joined(shape):
    """The last table's insert, the others its ``WITH`` clauses."""
    *before, last = _table_inserts(shape)
    if not before:
        return last
    # The tables the WITH clauses write, for those who watch writes to a table
    # (:class:`services.common.wakeups.CommitWatch`): the statement names only its own.
    return last.add_cte(*_clauses(before)).execution_options(
        written_tables=frozenset(statement.table for statement in before))


@lru_cache(maxsize=256)
def _with_inserts(final, shape):
    """``final`` with the inserts of ``shape`` as its ``WITH`` clauses."""
    return final.add_cte(*_clauses(_table_inserts(shape))).execution_options(
        written_tables=frozenset(table for table, _columns in shape))


def _clauses(inserts) -> list:
    return [statement.cte(f"write_{n}") for n, statement in enumerate(inserts)]
