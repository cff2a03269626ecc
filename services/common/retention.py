"""Retention and archive arithmetic, and the once-a-month guard for the jobs that use it.

``RETENTION_YEARS``: no record younger than that is deleted for good. ``ARCHIVE_AFTER_MONTHS``:
closed tickets untouched that long move to the archive. Months and years are calendar ones;
a day the target month lacks (31 March less a month) becomes its last day."""
import calendar
from datetime import datetime

from sqlalchemy.exc import IntegrityError


def months_before(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def years_before(moment: datetime, years: int) -> datetime:
    return months_before(moment, 12 * years)


def years_after(moment: datetime, years: int) -> datetime:
    return months_before(moment, -12 * years)


def run_monthly(uow, job: str, work) -> int:
    """Run ``work()`` (which commits its own batches) unless ``job`` already ran this
    calendar month (UTC), then record that it ran. The record is a processed-event row keyed
    by the month (``2026-11``): it survives restarts, and a run cut short is not recorded,
    so the next check finishes it. Two containers starting the same run at once both work
    safely (the work claims its rows) and one record stays."""
    period = uow.now().strftime("%Y-%m")
    already = not uow.claim(job, period)
    uow.rollback()  # only a look: the record is written once the work is done
    if already:
        return 0
    result = work()
    uow.claim(job, period)
    try:
        uow.commit()
    except IntegrityError:
        uow.rollback()  # another container recorded the same run
    return result
