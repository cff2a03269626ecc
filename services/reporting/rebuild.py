"""Rebuild the read model from the event log: ``python -m services.reporting.rebuild``
(``make rebuild-reports``). Empties the aggregates and replays every logged event in arrival
order in one transaction, so the figures come out as the events first made them."""
import sys

from sqlalchemy.orm import Session

from services.common.config import load_settings
from services.common.db import make_engine
from services.reporting import reports


def main() -> None:
    engine = make_engine(load_settings().database_url("reporting"))
    try:
        with Session(engine) as session:
            replayed = reports.rebuild(session, progress=lambda n: print(
                f"\rreplayed {n} events", end="", file=sys.stderr, flush=True))
    finally:
        engine.dispose()
    print(f"\nrebuilt the reports from {replayed} events", file=sys.stderr)


if __name__ == "__main__":
    main()
