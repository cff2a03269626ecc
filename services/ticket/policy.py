"""The SLA policy: one row, read when a ticket is created (which snapshots its targets)."""
import copy

from services.common.schemas import load_or_422, schema_of
from services.ticket import sla
from services.ticket.models import SlaPolicy
from services.ticket.schemas import SlaPolicySchema

POLICY_ROW = 1


def current_policy(session) -> dict:
    row = session.get(SlaPolicy, POLICY_ROW)
    return row.policy if row is not None else copy.deepcopy(sla.DEFAULT_POLICY)


def set_policy(uow, payload: dict) -> dict:
    schema = schema_of(SlaPolicySchema)
    policy = schema.dump(load_or_422(schema, payload))
    uow.session.merge(SlaPolicy(id=POLICY_ROW, policy=policy, updated_at=uow.now(),
                                updated_by=uow.context.actor))
    uow.commit()
    return policy
