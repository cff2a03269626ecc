"""The unit of work in a Nameko service: :class:`UnitOfWorkProvider` gives each worker its
:class:`~services.common.outbox.UnitOfWork` and publishes what it committed.

After the worker has finished (its reply sent, its message acked), the provider publishes
what that worker committed, with what other workers committed meanwhile, in one batch with
one wait for the broker's confirms: the fast path. A relay thread in every container
(:mod:`services.common.relay`) first marks every row the fast path published since its last
round as sent, in one statement, then publishes whatever is still unsent a few seconds after
its commit (a crash between commit and publish, a broker outage): the safe path. An event
may therefore be published twice; consumers deduplicate on the envelope id
(:meth:`UnitOfWork.claim`).

A write RPC is made safe to repeat with :func:`idempotent`: under the caller's idempotency
key the change and its answer are committed together, and a repeat gets that answer back.
"""
from datetime import timedelta
from functools import wraps

import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import sessionmaker

from services.common.clock import clock_from
from services.common.config import settings_from
from services.common.context import CallContext
from services.common.db import make_engine, single_statement_engine
from services.common.outbox import UnitOfWork
from services.common.relay import OutboxRelay

ANSWER_RETENTION = timedelta(hours=24)  # how long a repeated request gets its first answer


class UnitOfWorkProvider(DependencyProvider):
    """Database session + outbox for a service that owns database ``database``.

    ``models`` is the service's models module: it must define ``Outbox`` and
    ``ProcessedEvent`` (built on the mixins in :mod:`services.common.db`).
    """

    def __init__(self, database: str, models, **kwargs):
        super().__init__(**kwargs)
        self.database = database
        self.models = models
        self.units = {}

    def setup(self):
        settings = settings_from(self.container.config)
        # A connection for each worker and for the relay's and the metrics' rounds.
        self.engine = make_engine(settings.database_url(self.database),
                                  pool_size=self.container.max_workers + 2,
                                  dollar_placeholders=True)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.reads_engine = single_statement_engine(self.engine)
        self.clock = clock_from(self.container.config)
        self.relay_interval = settings.outbox_relay_seconds
        answers = getattr(self.models, "ProcessedRequest", None)
        self.relay = OutboxRelay(settings.amqp_uri, self.container.service_name,
                                 self.session_factory, self.models.Outbox, self.clock,
                                 expiring=[(answers.at, ANSWER_RETENTION)] if answers else [])

    def start(self):
        self.container.spawn_managed_thread(
            lambda: self.relay.relay_forever(self.relay_interval, eventlet.sleep))

    def stop(self):
        self.relay.stop()
        self.relay.mark_published()
        self.relay.close()
        self.engine.dispose()

    def kill(self):
        self.relay.stop()
        self.relay.close()

    def get_dependency(self, worker_ctx):
        unit = UnitOfWork(self.session_factory, self.models, self.container.service_name,
                          CallContext.from_data(worker_ctx.data), self.clock, self.reads_engine)
        self.units[worker_ctx] = unit
        return unit

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        unit = self.units.get(worker_ctx)
        if unit is not None and unit.committed:
            self.relay.publish_committed(unit.committed)

    def worker_teardown(self, worker_ctx):
        unit = self.units.pop(worker_ctx, None)
        if unit is not None:
            unit.close()


def idempotent(method):
    """Make a write RPC of a service safe to repeat: ``self.uow.once`` runs it once per
    idempotency key (the gateway sends one with every request; see :meth:`UnitOfWork.once`).

        @rpc(expected_exceptions=EXPECTED_ERRORS)
        @idempotent
        def create(self, customer): ...
    """
    @wraps(method)
    def run(self, *args, **kwargs):
        return self.uow.once(f"{self.name}.{method.__name__}",
                             lambda: method(self, *args, **kwargs))

    return run
