"""The SLA policy: one row, read when a ticket is created (which snapshots its targets)."""
import copy

from sqlalchemy import select

from services.common.schemas import load_or_422, schema_of
from services.ticket import sla
from services.ticket.models import SlaPolicy
from services.ticket.schemas import SlaPolicySchema

POLICY_ROW = 1


def current_policy(session) -> dict:
    return policy_or_default(session.scalar(_stored()))


def _stored():
    return select(SlaPolicy.policy).where(SlaPolicy.id == POLICY_ROW)


# The stored policy document as a scalar subquery (NULL when none is stored), for a
# statement that reads it along with something else.
STORED_POLICY = _stored().scalar_subquery()


def policy_or_default(stored: dict | None) -> dict:
    return stored if stored is not None else copy.deepcopy(sla.DEFAULT_POLICY)


def set_policy(uow, payload: dict) -> dict:
    schema = schema_of(SlaPolicySchema)
    policy = schema.dump(load_or_422(schema, payload))
    uow.session.merge(SlaPolicy(id=POLICY_ROW, policy=policy, updated_at=uow.now(),
                                updated_by=uow.context.actor))
    uow.commit()
    return policy
