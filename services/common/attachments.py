"""Attachment metadata, kept by the service that owns the parent (a claim check).

The gateway streams a file into the attachment store (addressed by its sha256) and hands the
owning service only the claim: ``{sha256, size, content_type, file_name, note}``. The
customer service keeps those of customers and follow-ups, the ticket service those of
tickets, each in its own table with the columns of :class:`AttachmentMixin`; the rules both
follow are here: the input and output schemas, who may remove one, which files are still
referenced (for the gateway's garbage collection).

Attachment ids name their owner (``ca_…`` customer service, ``ta_…`` ticket service), so the
gateway can route ``/attachments/<id>`` without asking around.
"""
import uuid
from datetime import datetime, timedelta

from marshmallow import Schema, fields, validate
from sqlalchemy import BigInteger, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import UTCDateTime, one_or_404
from services.common.errors import Forbidden
from services.common.schemas import StrictSchema, load_or_422, schema_of

ID_PREFIXES = {"customers": "ca_", "tickets": "ta_"}
# The uploader may remove its own attachment this long after uploading it; admins always.
REMOVABLE_BY_UPLOADER_FOR = timedelta(hours=24)
SHA256_PATTERN = r"^[0-9a-f]{64}$"
REFERENCE_BATCH = 500


class AttachmentMixin:
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def url(self) -> str:
        """Where the gateway serves the file."""
        return f"/api/v1/attachments/{self.id}"


class AttachmentInputSchema(StrictSchema):
    """The claim the gateway sends once the file is in the store."""
    sha256 = fields.String(required=True, validate=validate.Regexp(SHA256_PATTERN))
    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    content_type = fields.String(required=True, validate=validate.Length(1, 100))
    file_name = fields.String(required=True, validate=validate.Length(1, 255))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class AttachmentSchema(Schema):
    id = fields.String()
    file_name = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    note = fields.String(allow_none=True)
    uploaded_by = fields.String()
    uploaded_at = fields.AwareDateTime()
    url = fields.String(metadata={"description": "where the file is downloaded"})


def new_attachment(model, owner: str, uow, claim: dict, **parent):
    """A new row of ``model`` for ``claim`` (validated), uploaded now by the caller."""
    data = load_or_422(schema_of(AttachmentInputSchema), claim)
    return model(id=f"{ID_PREFIXES[owner]}{uuid.uuid4().hex}", uploaded_by=uow.context.actor,
                 uploaded_at=uow.now(), **parent, **data)


def find(session, model, attachment_id: str, for_update: bool = False):
    statement = select(model).where(model.id == attachment_id)
    if for_update:
        statement = statement.with_for_update()
    return one_or_404(session, statement, "Attachment", attachment_id)


def check_may_remove(context, attachment, now: datetime) -> None:
    """Admins remove any attachment; the uploader its own within 24 hours; nobody else."""
    if context.actor_role in (None, "admin"):
        return
    if context.actor == attachment.uploaded_by and \
            now - attachment.uploaded_at < REMOVABLE_BY_UPLOADER_FOR:
        return
    raise Forbidden("Only an admin, or its uploader within 24 hours of uploading it, may remove "
                    "this attachment.",
                    {"id": attachment.id, "uploaded_by": attachment.uploaded_by,
                     "uploaded_at": attachment.uploaded_at.isoformat()})


def referenced(session, model, sha256s: list[str]) -> list[str]:
    """Which of ``sha256s`` an attachment of ``model`` still points at."""
    wanted = sorted({sha for sha in sha256s if isinstance(sha, str)})
    found = set()
    for start in range(0, len(wanted), REFERENCE_BATCH):
        found.update(session.scalars(select(model.sha256).where(
            model.sha256.in_(wanted[start:start + REFERENCE_BATCH]))))
    return sorted(found)


def get(uow, model, schema, attachment_id: str) -> dict:
    return schema_of(schema).dump(find(uow.session, model, attachment_id))


def remove(uow, model, schema, event_type: str, attachment_id: str,
           parent=lambda attachment: {}) -> None:
    """Delete the metadata (the file goes once no attachment anywhere points at it) and say
    so with ``event_type``, with what ``parent`` adds to the event's data."""
    attachment = find(uow.session, model, attachment_id, for_update=True)
    check_may_remove(uow.context, attachment, uow.now())
    shown = schema_of(schema).dump(attachment)
    data = {**parent(attachment), "attachment": shown, "by": uow.context.actor}
    uow.session.delete(attachment)
    uow.emit(event_type, data)
    uow.commit()
