"""What the sweep benchmarks (``sla_sweep.py``, ``reminder_sweep.py``) share: bulk inserts
in chunks, timing the real sweep with a few rows due and with none, the query plan, and the
report of both sizes side by side."""
import statistics
import time

from sqlalchemy import text


def insert(session_factory, statements: list[str], first: int, last: int, chunk: int,
           what: str, **params) -> None:
    """Run each ``statements`` (with ``:first`` and ``:last``) over ``first``–``last`` in
    chunks, one transaction each, then ANALYZE."""
    for start in range(first, last + 1, chunk):
        end = min(start + chunk - 1, last)
        with session_factory() as session:
            for statement in statements:
                session.execute(text(statement), {**params, "first": start, "last": end})
            session.commit()
        print(f"  inserted {what} {start:,}–{end:,}", flush=True)
    with session_factory() as session:
        session.execute(text("ANALYZE"))
        session.commit()


def time_sweeps(make_due, sweep_once, due_count: int, repeat: int) -> tuple[float, float]:
    """Median seconds of a sweep with ``due_count`` rows due, and of an idle sweep.
    ``make_due()`` makes the rows due again; ``sweep_once()`` runs one sweep, returning how
    many rows it found due."""
    busy, idle = [], []
    for _ in range(repeat):
        make_due()
        for timings in (busy, idle):  # the second sweep finds nothing left to do
            started = time.perf_counter()
            swept = sweep_once()
            timings.append(time.perf_counter() - started)
            assert swept == (due_count if timings is busy else 0), swept
    return statistics.median(busy), statistics.median(idle)


def index_plan(session_factory, query, column: str) -> str:
    """The index-scan line of the query's plan (or the whole plan when there is none)."""
    with session_factory() as session:
        compiled = query.compile(session.bind, compile_kwargs={"literal_binds": True})
        rows = session.execute(text(f"EXPLAIN {compiled}")).scalars().all()
    return next((row.strip() for row in rows if column in row and "Index" in row),
                "no index scan found:\n" + "\n".join(rows))


def report(what: str, results: dict, due: int) -> None:
    """Both sizes' timings and the large/small ratios."""
    (small, (small_busy, small_idle)), (large, (large_busy, large_idle)) = results.items()
    print(f"\n{what:>14} {'sweep, ' + str(due) + ' due':>16} {'sweep, none due':>16}")
    for size, (busy, idle) in results.items():
        print(f"{size:>14,} {busy * 1000:>13.1f} ms {idle * 1000:>13.2f} ms")
    print(f"{'ratio':>14} {large_busy / small_busy:>16.2f} {large_idle / small_idle:>16.2f}")
