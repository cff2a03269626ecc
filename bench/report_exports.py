"""Export files with 10,000 and 200,000 detail rows side by side: time and peak memory (RSS)
of writing the CSV, the Excel workbook and the PDF, each with every row, on
PostgreSQL: ``.venv/bin/python bench/report_exports.py``.

Detail rows are inserted straight into a fresh reporting database (tickets half of them,
ratings a quarter, follow-ups a fifth, converted customers the rest, all in the last 30
days). Each file is then written in a child process the way the gateway writes it — the
``export_outline`` use case, then ``export_rows`` pages of 1,000 rows (the reporting
service's RPCs without the broker hop) into the CSV stream or the write-only workbook —
so the child's peak RSS is what one export costs, next to the RSS of a child that only
imports the same modules. Times are the child's wall-clock and CPU seconds (on a shared,
loaded machine the CPU seconds are the steadier figure).

Options: ``--small N`` and ``--large N`` rows (default 10,000 and 200,000).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.common.clock import ManualClock  # noqa: E402
from services.common.context import CallContext  # noqa: E402
from services.common.db import make_engine  # noqa: E402
from services.common.outbox import UnitOfWork  # noqa: E402
from services.reporting import models, reports  # noqa: E402
from services.reporting.models import (  # noqa: E402
    ConvertedCustomer, FollowupDetail, RatingDetail, TicketDetail,
)

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NOW = datetime.now(timezone.utc).replace(microsecond=0)
SHARES = {TicketDetail: 0.5, RatingDetail: 0.25, FollowupDetail: 0.2, ConvertedCustomer: 0.05}
BATCH = 5000


def row(model, n: int, total: int) -> dict:
    moment = NOW - timedelta(days=29) + timedelta(days=29) * n / total
    if model is TicketDetail:
        return {"id": f"2026-TECH-{n // 50:05d}-{n % 50:03d}", "created_at": moment,
                "customer_id": f"2026-TECH-{n // 50:05d}", "title": f"设备运行卡顿，请求远程排查 {n}",
                "service_type": "aftersales", "category": "complaint", "priority": "medium",
                "owner": "wang", "state": "done", "updated_at": moment,
                "first_response": "met", "resolution": "breached" if n % 7 == 0 else "met"}
    if model is RatingDetail:
        return {"ticket_id": f"T-{n}", "at": moment, "customer_id": f"2026-TECH-{n // 50:05d}",
                "service_type": "aftersales", "category": "complaint", "score": 1 + n % 5,
                "quality": 4, "speed": 3, "effectiveness": 5, "nps_score": n % 11,
                "would_cooperate_again": "yes", "comment": "响应速度需提升，方案细节需优化",
                "collected_via": "survey", "rated_by": None}
    if model is FollowupDetail:
        return {"id": n, "at": moment, "customer_id": f"2026-TECH-{n // 50:05d}",
                "channel": "phone", "subject": "合同条款确认", "outcome": "positive",
                "owner": "li", "feedback": "需进一步考虑预算", "next_action": "3月15日前反馈客户意见"}
    return {"id": f"2026-MFG-{n:06d}", "converted_on": moment.date(), "name": f"客户 {n}",
            "industry": "MFG", "owner": "li", "deal_amount": 120000.0 + n,
            "deal_product": "ERP", "signed_date": moment.date(), "updated_at": moment}


def fill(url: str, total: int) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for model, share in SHARES.items():
                count = int(total * share)
                for first in range(0, count, BATCH):
                    connection.execute(insert(model), [row(model, n, count) for n in
                                                       range(first, min(count, first + BATCH))])
    finally:
        engine.dispose()


def child(url: str, file_format: str) -> None:
    """Write one export the way the gateway does; print seconds, bytes and peak RSS."""
    from services.reporting import exports
    from services.reporting.exports.csv_file import csv_chunks
    from services.reporting.exports.paging import document_of

    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    query = {"format": file_format, "lang": "zh"}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if file_format == "none":
        print(json.dumps({"seconds": 0, "cpu": 0, "bytes": 0, "rss_kib": before}))
        return

    def uow():
        return UnitOfWork(factory, models, "reporting", CallContext.from_data({}),
                          ManualClock(NOW))

    started, cpu_started = time.perf_counter(), time.process_time()
    outline = reports.export_outline(uow(), query)
    scope = {"from": outline["report"]["range"]["from"], "to": outline["report"]["range"]["to"]}

    def fetch(table, after):
        return reports.export_rows(uow(), {**scope, "table": table, "after": after})

    document = document_of(outline, "zh", fetch, exports.Options())
    if file_format == "csv":
        size = sum(len(chunk) for chunk in csv_chunks(document))
    else:
        with tempfile.TemporaryFile() as out:
            exports.write(document, file_format, out)
            size = out.tell()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    engine.dispose()
    print(json.dumps({"seconds": elapsed, "cpu": cpu, "bytes": size,
                      "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def measure(url: str, file_format: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", file_format, url],
                          capture_output=True, text=True, timeout=3600,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=200_000)
    parser.add_argument("--child", nargs=2, metavar=("FORMAT", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[1], args.child[0])
        return
    from tests.support.databases import PostgresDatabases
    databases = PostgresDatabases(POSTGRES)
    try:
        sizes = {"small": args.small, "large": args.large}
        urls = {}
        for label, total in sizes.items():
            urls[label] = databases.fresh("reporting")
            started = time.perf_counter()
            fill(urls[label], total)
            print(f"{label}: {total:,} detail rows inserted in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
        baseline = measure(urls["small"], "none")["rss_kib"]
        print(f"\nRSS of a process that only imports the export code: {baseline / 1024:.0f} MiB")
        print(f"{'format':<8}{'rows':>10}{'seconds':>10}{'CPU s':>10}{'file MiB':>10}"
              f"{'peak RSS MiB':>14}")
        results = {}
        for file_format in ("csv", "xlsx", "pdf"):
            for label, total in sizes.items():
                figures = results[(file_format, label)] = measure(urls[label], file_format)
                print(f"{file_format:<8}{total:>10,}{figures['seconds']:>10.1f}"
                      f"{figures['cpu']:>10.1f}{figures['bytes'] / 2**20:>10.1f}{figures['rss_kib'] / 1024:>14.0f}",
                      flush=True)
        for file_format in ("csv", "xlsx", "pdf"):
            small, large = results[(file_format, "small")], results[(file_format, "large")]
            print(f"{file_format}: {sizes['large']:,} vs {sizes['small']:,} rows: CPU time "
                  f"{large['cpu'] / small['cpu']:.1f}x, peak RSS "
                  f"{large['rss_kib'] / small['rss_kib']:.2f}x")
    finally:
        databases.drop_all()


if __name__ == "__main__":
    main()
