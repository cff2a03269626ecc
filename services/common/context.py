"""Who is acting and under which request id, carried in Nameko's context data.

The gateway puts ``request_id``, ``actor``, ``actor_role`` and ``idempotency_key`` into each
RPC's context;
Nameko copies context data into every RPC it makes and every event it dispatches, and the
outbox copies it into its message headers, so it travels the whole path.
"""
from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from services.common.logs import set_request_id

REQUEST_ID, ACTOR, ACTOR_ROLE = "request_id", "actor", "actor_role"
# Names one client request across retries and redeliveries: a write that sees it again
# returns what it made the first time instead of making it twice.
IDEMPOTENCY_KEY = "idempotency_key"
SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class CallContext:
    request_id: str | None
    actor: str
    actor_role: str | None
    idempotency_key: str | None = None

    @classmethod
    def from_data(cls, data: dict) -> "CallContext":
        return cls(
            request_id=data.get(REQUEST_ID),
            actor=data.get(ACTOR) or SYSTEM_ACTOR,
            actor_role=data.get(ACTOR_ROLE),
            idempotency_key=data.get(IDEMPOTENCY_KEY),
        )


class CallContextProvider(DependencyProvider):
    """Gives each worker its :class:`CallContext` and tags its log lines."""

    def get_dependency(self, worker_ctx):
        context = CallContext.from_data(worker_ctx.data)
        set_request_id(context.request_id)
        return context

    def worker_teardown(self, worker_ctx):
        set_request_id(None)
