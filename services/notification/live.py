"""The live webhooks (their ``id`` and ``event_types``), which every batch of events looks
up (any event type may be subscribed to), kept in the process rather than read for every
batch: a view read less than :data:`MAX_AGE` seconds ago serves.

A webhook created through the API gets every event published after the answer, in every
replica of this service:

- this process drops its views when a change of its own commits (:func:`changing`), so a
  view read before that commit is not used after it;
- the API answers a change only :data:`MAX_AGE` seconds after its commit (:func:`settled`);
  an event published after the answer is handled later still, with a view read after the
  commit.

A deleted webhook likewise gets no new delivery after the answer; one made before is failed
by the sender (:mod:`.delivery`)."""
import weakref
from functools import wraps
from time import monotonic

import eventlet
from sqlalchemy import event, select

from services.notification.models import Webhook

MAX_AGE = 0.5

LIVE_WEBHOOKS = (select(Webhook.__table__.c.id, Webhook.__table__.c.event_types)
                 .where(Webhook.__table__.c.deleted_at.is_(None)).order_by(Webhook.__table__.c.id))


class _Views:
    """Per database (engine), the webhooks as read at ``read_at`` (monotonic), valid while
    no change of this process has committed since (``generation``)."""

    def __init__(self):
        self.generation = 0
        self.by_engine = weakref.WeakKeyDictionary()

    def drop(self, *_) -> None:
        self.generation += 1


_VIEWS = _Views()


def webhooks(session) -> list:
    """The live webhooks of ``session``'s database, read again when the view is too old or
    this process changed them since it was read."""
    engine = session.get_bind()
    view = _VIEWS.by_engine.get(engine)
    now = monotonic()
    if view is not None and view[0] == _VIEWS.generation and now - view[1] < MAX_AGE:
        return view[2]
    generation = _VIEWS.generation  # taken before the read: a commit during it drops it
    rows = session.execute(LIVE_WEBHOOKS).all()
    _VIEWS.by_engine[engine] = (generation, now, rows)
    return rows


def changing(session) -> None:
    """``session`` changes webhooks: the views are dropped once its transaction commits."""
    event.listen(session, "after_commit", _VIEWS.drop, once=True)


def settled(method):
    """Answer a webhook change only once every process's view has it (see the module)."""
    @wraps(method)
    def run(*args, **kwargs):
        answer = method(*args, **kwargs)
        eventlet.sleep(MAX_AGE)
        return answer

    return run
