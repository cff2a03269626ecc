"""Who is acting and under which request id, carried in Nameko's context data.

The gateway puts ``request_id``, ``actor``, ``actor_role``, ``actor_team``, ``team_members``
(for a manager: the usernames of its team, itself included) and ``idempotency_key`` into
each RPC's context;
Nameko copies context data into every RPC it makes and every event it dispatches, and the
outbox copies it into its message headers, so it travels the whole path.
"""
from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from services.common.logs import set_request_id

REQUEST_ID, ACTOR, ACTOR_ROLE = "request_id", "actor", "actor_role"
ACTOR_TEAM, TEAM_MEMBERS = "actor_team", "team_members"
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
    actor_team: str | None = None
    team_members: tuple[str, ...] = ()

    @classmethod
    def from_data(cls, data: dict) -> "CallContext":
        return cls(
            request_id=data.get(REQUEST_ID),
            actor=data.get(ACTOR) or SYSTEM_ACTOR,
            actor_role=data.get(ACTOR_ROLE),
            idempotency_key=data.get(IDEMPOTENCY_KEY),
            actor_team=data.get(ACTOR_TEAM),
            team_members=tuple(data.get(TEAM_MEMBERS) or ()),
        )

    def acts_for(self, username: str | None) -> bool:
        """Whether the actor may act for ``username``: itself, or (a manager) a member of its
        team. Admins and the system act for everyone."""
        if self.actor_role in (None, "admin"):
            return True
        if username == self.actor:
            return True
        return self.actor_role == "manager" and username in self.team_members


def context_headers(context: CallContext) -> dict:
    """Nameko reads ``nameko.*`` headers back into the consumer's context data."""
    values = {REQUEST_ID: context.request_id, ACTOR: context.actor,
              ACTOR_ROLE: context.actor_role}
    return {f"nameko.{key}": value for key, value in values.items() if value is not None}


class CallContextProvider(DependencyProvider):
    """Gives each worker its :class:`CallContext` and tags its log lines."""

    def get_dependency(self, worker_ctx):
        context = CallContext.from_data(worker_ctx.data)
        set_request_id(context.request_id)
        return context

    def worker_teardown(self, worker_ctx):
        set_request_id(None)
