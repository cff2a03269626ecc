"""A commit watch sees a table written in a ``WITH`` clause of a combined insert
(:func:`services.common.rows.insert_together` on PostgreSQL), not just the statement's own
table: a ticket's SLA clocks are written that way, and the SLA sweep wakes on them."""
import uuid
from datetime import datetime, timezone

from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine
from services.common.rows import insert_together, row_of
from services.common.wakeups import CommitWatch
from services.notification.models import Delivery, Outbox


class Nudges:
    def __init__(self):
        self.count = 0

    def __call__(self):
        self.count += 1


def test_a_row_written_in_a_with_clause_nudges_the_watch_on_its_table(databases):
    engine = make_engine(databases.fresh("notification"))
    nudges = Nudges()
    watch = CommitWatch([Delivery], nudges)
    watch.start()
    try:
        now = datetime.now(timezone.utc)
        delivery = Delivery(id=str(uuid.uuid4()), channel="email", target="admin",
                            event_id=str(uuid.uuid4()), event_type="user.login_alert",
                            payload={}, status="pending", attempts=0, next_attempt_at=now,
                            held=False, created_at=now)
        outbox = Outbox(id=str(uuid.uuid4()), event_type="user.login_alert", envelope={},
                        headers={}, created_at=now)
        with sessionmaker(engine)() as session:
            insert_together(session, [row_of(delivery), row_of(outbox)])
            session.commit()
        assert nudges.count == 1
        with sessionmaker(engine)() as session:  # a write of another table only
            insert_together(session, [row_of(Outbox(id=str(uuid.uuid4()), envelope={},
                                                    event_type="x", headers={},
                                                    created_at=now))])
            session.commit()
        assert nudges.count == 1
    finally:
        watch.stop()
        engine.dispose()
