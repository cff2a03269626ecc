"""Upserts of many rows into one table, each statement built once per backend.

The consumers write a batch's counters, states and detail rows with these: one statement per
table and batch, whatever the number of rows, instead of one per row, and no statement built
or compiled per call (SQLAlchemy caches the compiled form of a statement object it has
seen), run on the session's connection (its transaction) without the ORM's handling.

On PostgreSQL the rows travel as one JSON array, turned back into rows of the table's own
column types by ``json_populate_recordset``: a single statement text for any number of rows,
one parameter (dumped by the C ``json`` encoder rather than an array per column, element by
element), one round trip, the rows taken in the order given (callers sort them by key, so
concurrent transactions lock shared rows in the same order). SQLite, in process, runs the
same ``INSERT ... ON CONFLICT`` once per row through the driver's ``executemany``.
"""
import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import literal_column, select, text
from sqlalchemy.dialects import postgresql, sqlite


class Upsert:
    """``INSERT`` of rows into ``model``'s table; on a conflict on ``key`` (column names),
    ``update(table, excluded, columns)`` gives the ``SET`` (``None``: do nothing) and
    ``where(table, excluded)`` an optional condition. ``columns``: the names every row
    carries (default: every column but an autoincremented key); ``returning``: a column
    whose values :meth:`execute` returns (the rows inserted or updated); ``guard``: on
    PostgreSQL, a condition (SQL text) evaluated once before any row is written, whose
    parameters :meth:`execute` passes on."""

    def __init__(self, model, key: tuple, update=None, where=None, columns=None,
                 returning=None, guard=None):
        self.table = model.__table__
        self.key, self.update, self.where, self.returning = key, update, where, returning
        self.guard = guard
        self.columns = tuple(columns or (
            column.name for column in self.table.columns
            if not (column.primary_key and column.autoincrement is True)))
        self._statements = {}

    def execute(self, session, rows: list[dict], guarding: dict | None = None):
        """Write ``rows`` (dicts with :attr:`columns`; no two with the same key) in order;
        the ``returning`` column's values, or None. ``guarding``: the guard's parameters."""
        if not rows:
            return set() if self.returning else None
        dialect = session.bind.dialect.name
        parameters = self.parameters(dialect, rows)
        if dialect == "postgresql" and self.guard:
            parameters.update(guarding or {})
        result = session.connection().execute(self.statement(dialect), parameters)
        return set(result.scalars()) if self.returning else None

    def statement(self, dialect: str):
        statement = self._statements.get(dialect)
        if statement is None:
            statement = self._statements[dialect] = self._build(dialect)
        return statement

    def parameters(self, dialect: str, rows: list[dict]):
        """On PostgreSQL the JSON parameter named after the table, else one set per row."""
        if dialect == "postgresql":
            return {self.table.name: json.dumps(rows, default=_json_value)}
        return [{name: row[name] for name in self.columns} for row in rows]

    def _build(self, dialect: str):
        table = self.table
        if dialect == "postgresql":
            quote = postgresql.dialect().identifier_preparer.quote
            names = ", ".join(quote(name) for name in self.columns)
            source = text(
                f"SELECT {names} FROM json_populate_recordset(NULL::{quote(table.name)},"
                f" CAST(:{table.name} AS json))"
                + (f" WHERE {self.guard}" if self.guard else "")
            ).columns(*[table.c[name] for name in self.columns])
            statement = postgresql.insert(table).from_select(self.columns, source)
        else:
            statement = sqlite.insert(table)
        excluded = statement.excluded
        if self.update is None:
            statement = statement.on_conflict_do_nothing(index_elements=list(self.key))
        else:
            statement = statement.on_conflict_do_update(
                index_elements=list(self.key), set_=self.update(table, excluded, self.columns),
                where=self.where(table, excluded) if self.where else None)
        if self.returning:
            statement = statement.returning(table.c[self.returning])
        return statement


class Together:
    """Several upserts in one statement on PostgreSQL, each a data-modifying ``WITH``
    clause: one round trip for all their tables (a table without rows this time gets an
    empty array). Elsewhere they run one after another, those with rows.

    The tables are written in the same order by every transaction running the statement,
    each in the order of its rows, so shared rows are locked in one order."""

    def __init__(self, *upserts: Upsert):
        self.upserts = upserts
        self._statement = None

    def execute(self, session, rows: list[list[dict]]) -> None:
        """``rows[i]``: the rows of ``upserts[i]``."""
        if not any(rows):
            return
        if session.bind.dialect.name != "postgresql":
            for upsert, its_rows in zip(self.upserts, rows):
                upsert.execute(session, its_rows)
            return
        if self._statement is None:
            self._statement = select(literal_column("1")).add_cte(*[
                upsert.statement("postgresql").cte(f"written_{upsert.table.name}")
                for upsert in self.upserts])
        parameters = {}
        for upsert, its_rows in zip(self.upserts, rows):
            parameters.update(upsert.parameters("postgresql", its_rows))
        session.connection().execute(self._statement, parameters)


def add_n(table, excluded, columns) -> dict:
    """The ``SET`` of an additive counter: its ``n`` plus the delta."""
    return {"n": table.c.n + excluded.n}


def replace(key: tuple):
    """The ``SET`` that overwrites the written columns but ``key`` with the incoming row's."""
    return lambda table, excluded, columns: {name: excluded[name] for name in columns
                                             if name not in key}


def _json_value(value):
    """Dates and moments as ISO text (a moment with its offset), exact numbers as text."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
