"""How often the delivery worker looks for due rows: at its poll interval while there is
work, backing off while there is none, and again at once when a delivery row changes."""
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine
from services.common.wakeups import CommitWatch
from services.notification.delivery import Pacing
from services.notification.models import Base, Delivery


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def rounds_in(pacing: Pacing, clock: Clock, seconds: float, tick: float, found=0) -> int:
    """Tick every ``tick`` seconds for ``seconds``, running a round when one is due."""
    count = 0
    for _ in range(round(seconds / tick)):
        clock.now += tick
        if pacing.due():
            pacing.round(lambda: found)
            count += 1
    return count


def test_empty_rounds_back_off_to_the_ceiling():
    clock = Clock()
    pacing = Pacing(0.5, 5.0, clock)
    rounds_in(pacing, clock, 30, 0.5)
    assert pacing.interval == 5.0
    assert rounds_in(pacing, clock, 20, 0.5) == 4


def test_rounds_that_find_work_keep_the_base_interval():
    clock = Clock()
    pacing = Pacing(0.5, 5.0, clock)
    assert rounds_in(pacing, clock, 10, 0.5, found=3) == 20
    assert pacing.interval == 0.5


def test_a_nudge_makes_the_next_tick_a_round_and_one_during_a_round_is_kept():
    clock = Clock()
    pacing = Pacing(0.5, 5.0, clock)
    rounds_in(pacing, clock, 30, 0.5)
    assert not pacing.due()
    pacing.nudge()
    assert pacing.due()

    def dispatch_while_a_row_is_written():
        pacing.nudge()
        return 0
    pacing.round(dispatch_while_a_row_is_written)
    assert pacing.due()


@pytest.fixture
def watched(tmp_path):
    """A delivery database, and a pacing after an empty round that its commits nudge."""
    engine = make_engine(f"sqlite:///{tmp_path / 'notification.db'}")
    Base.metadata.create_all(engine)
    pacing = Pacing(0.5, 5.0, Clock())
    pacing.round(lambda: 0)
    watch = CommitWatch([Delivery], pacing.nudge)
    watch.start()
    yield sessionmaker(engine), pacing
    watch.stop()
    engine.dispose()


def test_a_committed_delivery_row_nudges_the_worker_and_a_flushed_one_not_yet(watched):
    """A round started between the flush and the commit would not see the row."""
    sessions, pacing = watched
    with sessions() as session:
        now = datetime.now(timezone.utc)
        session.add(Delivery(id=str(uuid.uuid4()), channel="email", target="admin",
                             event_id=str(uuid.uuid4()), event_type="user.login_alert",
                             payload={}, status="pending", attempts=0, next_attempt_at=now,
                             held=False, created_at=now))
        session.flush()
        assert not pacing.due()
        session.commit()
    assert pacing.due()


def test_an_update_statement_through_the_session_nudges_too(watched):
    sessions, pacing = watched
    with sessions() as session:
        session.execute(select(Delivery))
        session.commit()
        assert not pacing.due()
        session.execute(update(Delivery).values(attempts=Delivery.attempts + 1))
        assert not pacing.due()
        session.commit()
    assert pacing.due()
