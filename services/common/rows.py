"""New rows written with Core inserts, together: where the ORM adds nothing (rows nobody
reads back in the transaction: outbox rows, history, a new ticket's clocks), a unit of work
queues them and writes them all at commit. On PostgreSQL they go in one statement
(data-modifying ``WITH`` clauses), one round trip for any number of tables and rows; SQLite,
in process, takes one statement per table."""
from sqlalchemy import insert, inspect

from services.common.db import is_postgres

# A multi-row VALUES binds one parameter per column and row: stay well under PostgreSQL's
# 65,535 parameters per statement.
ROWS_PER_STATEMENT = 500


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


def _statements(rows) -> list:
    """One multi-row insert per table and set of columns, in the order first queued (parents
    before the children whose foreign keys point at them)."""
    groups = {}
    for table, values in rows:
        groups.setdefault((table, tuple(values)), []).append(values)
    return [insert(table).values(batch[start:start + ROWS_PER_STATEMENT])
            for (table, _columns), batch in groups.items()
            for start in range(0, len(batch), ROWS_PER_STATEMENT)]


def insert_together(session, rows, final=None):
    """Insert ``rows`` (``(table, values)`` pairs), then run ``final`` (a statement whose
    result the caller wants, or None); return ``final``'s result. On PostgreSQL this is one
    statement: each insert a ``WITH`` clause of ``final`` (or of the last insert). Foreign
    keys are checked at the end of the statement, so a parent and its children can share one."""
    statements = _statements(rows)
    if final is not None:
        statements.append(final)
    if not statements:
        return None
    if is_postgres(session):
        *before, last = statements
        if before:
            # The tables the ``WITH`` clauses write, for those who watch writes to a table
            # (:class:`services.common.wakeups.CommitWatch`): the statement names only its own.
            written = frozenset(statement.table for statement in before)
            last = last.add_cte(*(statement.cte(f"write_{n}")
                                  for n, statement in enumerate(before))) \
                .execution_options(written_tables=written)
        statements = [last]
    result = None
    for statement in statements:
        result = session.execute(statement)
    return result if final is not None else None
