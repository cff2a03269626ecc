"""The departments (责任部门) a ticket may name: a list admins replace as a whole."""
from sqlalchemy import delete, select

from services.common.errors import ValidationFailed
from services.common.schemas import load_or_422, schema_of
from services.ticket.models import Department
from services.ticket.schemas import DepartmentsSchema


def list_departments(session) -> list[str]:
    return list(session.scalars(select(Department.name).order_by(Department.position)))


def get_departments(uow) -> dict:
    departments = list_departments(uow.session)
    uow.rollback()
    return {"departments": departments}


def set_departments(uow, payload: dict) -> dict:
    """Replace the list; tickets already naming a removed department keep it."""
    names = load_or_422(schema_of(DepartmentsSchema), payload)["departments"]
    uow.session.execute(delete(Department))
    uow.session.add_all(Department(name=name, position=index) for index, name in enumerate(names))
    uow.commit()
    return {"departments": names}


def check_department(session, name: str | None) -> None:
    """A ticket's department must be on the list; 422 naming the field otherwise."""
    if name is not None and session.get(Department, name) is None:
        known = list_departments(session)
        raise ValidationFailed(f"department: '{name}' is not a department.", {"fields": {
            "department": [f"Unknown department '{name}'; known: {', '.join(known) or 'none'} "
                           "(GET /api/v1/departments)."]}})
