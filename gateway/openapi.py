"""The OpenAPI document, generated from the endpoints' declarations and their marshmallow
schemas, so the document cannot drift from the code."""
import json
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from gateway.permissions import PERMISSIONS

STATUS_TEXT = {400: "Malformed request", 401: "Not logged in", 403: "Role not allowed",
               404: "Not found", 409: "Conflict", 410: "Gone", 412: "Changed since (If-Match)",
               413: "Body too large", 415: "File type not accepted", 422: "Invalid fields",
               429: "Too many requests", 503: "A service is unavailable"}


class ErrorBodySchema(Schema):
    code = fields.String()
    message = fields.String()
    details = fields.Dict()


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema)


IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "minLength": 8, "maxLength": 128},
    "description": "Makes a retry safe: a repeat with the same key and body within 24 hours "
                   "returns the first answer (header Idempotent-Replayed: true) and changes "
                   "nothing; the same key with another body is 422 idempotency_key_reused; "
                   "a repeat while the first is running is 409 in_progress."}


UPLOAD_SCHEMA = {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary",
             "description": "the file, with its name in the part's filename"},
    "note": {"type": "string", "maxLength": 2000}}}


def build_spec(app) -> dict:
    spec = APISpec(title="deskflow API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Customer archive, service tickets with SLA clocks, "
                                        "notifications and reports."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                                "bearerFormat": "JWT"})
    spec.components.schema("Error", schema=ErrorSchema)
    paths = {}
    for rule in app.url_map.iter_rules():
        doc = getattr(app.view_functions[rule.endpoint], "doc", None)
        if doc is None:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        method = next(m for m in rule.methods if m not in ("HEAD", "OPTIONS")).lower()
        paths.setdefault(path, {})[method] = _operation(doc, rule.arguments)
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    # Validators on Decimal fields give Decimal bounds; the document needs JSON numbers.
    return json.loads(json.dumps(spec.to_dict(), default=float))


def _operation(doc, path_arguments) -> dict:
    operation = {"summary": doc.summary, "responses": {}}
    if doc.permission:
        roles = ", ".join(sorted(PERMISSIONS[doc.permission]))
        operation["description"] = f"Roles: {roles}."
        operation["security"] = [{"bearer": []}]
        operation["x-permission"] = doc.permission
        operation["x-roles"] = sorted(PERMISSIONS[doc.permission])
    parameters = [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                  for name in sorted(path_arguments)]
    if doc.query:
        parameters.append({"in": "query", "schema": doc.query})
    if doc.idempotent:
        parameters.append(IDEMPOTENCY_KEY_PARAMETER)
    if parameters:
        operation["parameters"] = parameters
    if doc.body:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": doc.body}}}
    if doc.upload:
        operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {
            "schema": UPLOAD_SCHEMA, "encoding": {"file": {"contentType": "*/*"}}}}}
    operation["responses"][str(doc.status)] = _success(doc)
    errors = set(doc.errors) | ({401, 403} if doc.permission else set())
    if doc.idempotent:
        errors |= {409, 422}
    if doc.body or doc.upload:
        errors |= {400, 413}
    for status in sorted(errors):
        operation["responses"][str(status)] = {
            "description": STATUS_TEXT[status],
            "content": {"application/json": {"schema": "Error"}}}
    return operation


def _success(doc) -> dict:
    if doc.response is None:
        if doc.content_types != ("application/json",):
            return {"description": "The file",
                    "content": {ct: {"schema": {"type": "string", "format": "binary"}}
                                for ct in doc.content_types}}
        return {"description": "Done"}
    schema = doc.response
    if doc.many:
        schema = {"type": "array", "items": schema}
    elif doc.paged:
        schema = {"type": "object", "properties": {
            "items": {"type": "array", "items": schema}, "total": {"type": "integer"},
            "page": {"type": "integer"}, "per_page": {"type": "integer"}}}
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}
