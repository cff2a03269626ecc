"""The workflow figures for ``/metrics``: tasks by state, and open tasks past their due
date. Read by the service's metrics refresh round, never by a scrape."""
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from services.workflow import domain
from services.workflow.models import Task


def families(session, now):
    counts = dict(session.execute(select(Task.state, func.count()).group_by(Task.state)).all())
    tasks = GaugeMetricFamily("deskflow_tasks", "Tasks by state.", labels=["state"])
    for state in domain.STATES:
        tasks.add_metric([state], counts.get(state, 0))
    yield tasks
    overdue = session.scalar(select(func.count()).where(Task.state == "open", Task.due_at <= now))
    yield GaugeMetricFamily("deskflow_tasks_overdue", "Open tasks past their due date.",
                            value=overdue)
