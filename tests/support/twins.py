"""Two fresh databases of one service, to apply the same events one by one in one and in
batches in the other, and compare every table of the two."""
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.common.clock import ManualClock
from services.common.context import CallContext
from services.common.db import make_engine
from services.common.outbox import UnitOfWork

UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")


@dataclass
class World:
    """One service database, a clock that stands still and units of work acting as ``actor``."""
    engine: object
    models: object
    source: str
    clock: ManualClock
    units: list = field(default_factory=list)

    def uow(self, actor: str = "admin") -> UnitOfWork:
        unit = UnitOfWork(sessionmaker(self.engine, expire_on_commit=False), self.models,
                          self.source, CallContext("req-1", actor, "admin"), self.clock)
        self.units.append(unit)
        return unit

    def tables(self, known_ids=()) -> dict:
        """Every row of every table, in no particular order; an id this side made up itself
        (a delivery's, an emitted event's) reads ``<new>``, an id in ``known_ids`` stays."""
        known = set(known_ids)
        with self.engine.connect() as connection:
            return {table.name: sorted((_normalised(dict(row._mapping), known)
                                        for row in connection.execute(select(table))), key=repr)
                    for table in self.models.Base.metadata.sorted_tables}

    def close(self) -> None:
        for unit in self.units:  # what Nameko's worker teardown does
            unit.close()
        self.engine.dispose()


def _normalised(value, known: set):
    if isinstance(value, dict):
        return {key: _normalised(item, known) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalised(item, known) for item in value]
    if isinstance(value, str) and UUID.match(value) and value not in known:
        return "<new>"
    return value


def twin_worlds(databases, service: str, models, source: str, start: datetime):
    """``(one_by_one, batched)``: two fresh ``service`` databases with clocks at ``start``."""
    return tuple(World(make_engine(databases.fresh(service)), models, source, ManualClock(start))
                 for _ in range(2))
