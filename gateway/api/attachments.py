"""Attachments: files on customers, follow-ups and tickets.

An upload streams into the attachment store (:mod:`gateway.uploads`) before anything else;
then the service owning the parent records its metadata (a claim check: the bytes never
travel over RabbitMQ) and checks the caller as it would for changing the parent. A download
streams from the store with the stored type, the original file name and the sha256 as ETag.
"""
import logging
import re
import unicodedata
from urllib.parse import quote

from flask import Blueprint, current_app, g, request

from gateway.api.endpoint import endpoint, rpc
from services.common.attachments import ID_PREFIXES
from services.common.errors import NotFound
from services.customer.schemas import CustomerAttachmentSchema
from services.ticket.schemas import TicketAttachmentSchema

blueprint = Blueprint("attachments", __name__)
log = logging.getLogger(__name__)

UPLOAD = ("Upload a file as multipart/form-data: part 'file' (with its file name) and an "
          "optional 'note'. At most ATTACHMENT_MAX_BYTES (413); documents, images, archives "
          "and text, judged by the content (others, executables and scripts: 415). The same "
          "bytes are stored once. ")
UNSAFE_IN_FALLBACK = re.compile(r'[^A-Za-z0-9 !#$&+,\-.^_`{}~()\[\]@=]')


@endpoint(blueprint, "/customers/<customer_id>/attachments", "POST",
          UPLOAD + "Who may change the customer may attach (others: 403 not_owner).",
          "customers.write", upload=True, response=CustomerAttachmentSchema, status=201,
          errors=(404, 413, 415, 422))
def attach_to_customer(customer_id):
    return rpc("customers", "add_attachment", customer_id, g.upload.metadata())


@endpoint(blueprint, "/customers/<customer_id>/attachments", "GET",
          "A customer's files, its follow-ups' included (each names its followup_id), oldest "
          "first; a deleted customer's stay until retention erases them.", "customers.read",
          response=CustomerAttachmentSchema, many=True, errors=(404,))
def customer_attachments(customer_id):
    return rpc("customers", "list_attachments", customer_id)


@endpoint(blueprint, "/customers/<customer_id>/followups/<followup_id>/attachments", "POST",
          UPLOAD + "Who may log the customer's follow-ups may attach (others: 403 not_owner).",
          "followups.write", upload=True, response=CustomerAttachmentSchema, status=201,
          errors=(404, 413, 415, 422))
def attach_to_followup(customer_id, followup_id):
    return rpc("customers", "add_attachment", customer_id, g.upload.metadata(),
               followup_id=followup_id)


@endpoint(blueprint, "/customers/<customer_id>/followups/<followup_id>/attachments", "GET",
          "A follow-up's files, oldest first.", "followups.read",
          response=CustomerAttachmentSchema, many=True, errors=(404,))
def followup_attachments(customer_id, followup_id):
    return rpc("customers", "list_attachments", customer_id, followup_id=followup_id)


@endpoint(blueprint, "/tickets/<ticket_id>/attachments", "POST",
          UPLOAD + "An archived ticket takes none (409 archived).", "tickets.write",
          upload=True, response=TicketAttachmentSchema, status=201,
          errors=(404, 409, 413, 415, 422))
def attach_to_ticket(ticket_id):
    return rpc("tickets", "add_attachment", ticket_id, g.upload.metadata())


@endpoint(blueprint, "/tickets/<ticket_id>/attachments", "GET",
          "A ticket's files, oldest first.", "tickets.read",
          response=TicketAttachmentSchema, many=True, errors=(404,))
def ticket_attachments(ticket_id):
    return rpc("tickets", "list_attachments", ticket_id)


@endpoint(blueprint, "/attachments/<attachment_id>", "GET",
          "Download a file: its stored type, Content-Disposition with the original name "
          "(filename* in UTF-8), ETag = its sha256 (If-None-Match: 304).", "attachments.read",
          content_types=("application/octet-stream",), errors=(404,))
def download(attachment_id):
    attachment = rpc(_owner(attachment_id), "get_attachment", attachment_id)
    sha256 = attachment["sha256"]
    if request.if_none_match.contains(sha256):
        response = current_app.response_class(status=304)
        response.set_etag(sha256)
        return response
    store = current_app.extensions["deskflow"].attachment_store
    if not store.exists(sha256):
        log.error("attachment %s: file %s is missing from %r", attachment_id, sha256, store)
        raise NotFound(f"The file of attachment {attachment_id} is missing from the store.",
                       {"id": attachment_id})
    response = current_app.response_class(store.read(sha256), mimetype=None,
                                          content_type=attachment["content_type"],
                                          direct_passthrough=True)
    response.content_length = attachment["size"]
    response.set_etag(sha256)
    response.headers["Content-Disposition"] = content_disposition(attachment["file_name"])
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@endpoint(blueprint, "/attachments/<attachment_id>", "DELETE",
          "Remove an attachment: an admin, or its uploader within 24 hours (others: 403).",
          "attachments.delete", status=204, errors=(404,))
def remove(attachment_id):
    rpc(_owner(attachment_id), "remove_attachment", attachment_id)


def _owner(attachment_id: str) -> str:
    """The service keeping this attachment, told by its id's prefix."""
    for service, prefix in ID_PREFIXES.items():
        if attachment_id.startswith(prefix):
            return service
    raise NotFound(f"Attachment {attachment_id} does not exist.", {"id": attachment_id})


def content_disposition(file_name: str) -> str:
    """``attachment`` with the name as sent (RFC 6266: ``filename*`` in UTF-8, RFC 5987) and
    an ASCII approximation in ``filename`` for clients that know no better."""
    fallback = unicodedata.normalize("NFKD", file_name).encode("ascii", "ignore").decode()
    fallback = UNSAFE_IN_FALLBACK.sub("_", fallback).strip()
    stem, dot, extension = fallback.rpartition(".")
    if not dot:
        stem, extension = fallback, ""
    if not any(character.isalnum() for character in stem):
        fallback = f"attachment.{extension}" if extension.isalnum() else "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"
