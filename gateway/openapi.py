"""The OpenAPI document, generated from the endpoints' declarations and their marshmallow
schemas, so the document cannot drift from the code."""
import json
import math
import re
from decimal import Decimal

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from gateway.idempotency import KEY_PATTERN
from gateway.permissions import PERMISSIONS
from services.common.schemas import StrictSchema

# Every text an input schema reads refuses NUL characters (StrictSchema), as the path does,
# and every date or date-time lies in the years 1900 to 2999 (what the databases hold). The
# patterns keep well inside: days 01-28 of any month, years 1901-2998 for date-times (an
# offset moves one across a year's edge), so any string they match is valid.
NO_NUL = "^[^\\u0000]*$"
_DAY = "-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
DATE_PATTERN = f"^(19[0-9][0-9]|2[0-9][0-9][0-9]){_DAY}$"
DATE_TIME_PATTERN = (f"^(190[1-9]|19[1-9][0-9]|2[0-8][0-9][0-9]|29[0-8][0-9]|299[0-8]){_DAY}"
                     "T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?"
                     "(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])$")

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
    "schema": {"type": "string", "minLength": 8, "maxLength": 128,
               "pattern": KEY_PATTERN.pattern},
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
    document = spec.to_dict()
    _add_schema_rules(document, spec.plugins[0].converter.refs)
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                if parameter["in"] in ("query", "path"):
                    _input_text(parameter["schema"])
    return json.loads(json.dumps(_json_bounds(document)))


def _add_schema_rules(document: dict, refs: dict) -> None:
    """What the properties alone cannot say: an input schema's texts refuse NUL, and a
    schema's ``OPENAPI_RULES`` (its cross-field rules as JSON Schema: ``anyOf``, ``oneOf``,
    ``not`` ...) join its component."""
    components = document["components"]["schemas"]
    for key, name in refs.items():
        schema_class = key[0]
        component = components.get(name)
        if component is None:
            continue
        if issubclass(schema_class, StrictSchema):
            for prop in component.get("properties", {}).values():
                _input_text(prop)
        component.update(getattr(schema_class, "OPENAPI_RULES", {}))


def _input_text(prop: dict) -> None:
    if prop.get("type") == "array":
        prop = prop.get("items", {})
    if prop.get("type") != "string" or "pattern" in prop:
        return
    if prop.get("format") == "date":
        prop["pattern"] = DATE_PATTERN
    elif prop.get("format") == "date-time":
        prop["pattern"] = DATE_TIME_PATTERN
    elif not {"enum", "format"} & prop.keys():
        prop["pattern"] = NO_NUL


def _json_bounds(node, key=None):
    """Decimal validator bounds as JSON numbers, rounded inwards: ``9999999999999999.99``
    is no float, and rounding it up to 1e16 would document a value the service refuses."""
    if isinstance(node, dict):
        return {name: _json_bounds(value, name) for name, value in node.items()}
    if isinstance(node, list):
        return [_json_bounds(value) for value in node]
    if isinstance(node, Decimal):
        number = float(node)
        if key in ("maximum", "exclusiveMaximum") and Decimal(number) > node:
            number = math.nextafter(number, -math.inf)
        elif key in ("minimum", "exclusiveMinimum") and Decimal(number) < node:
            number = math.nextafter(number, math.inf)
        return number
    return node


def rules_of(doc) -> list[str]:
    """What the request must keep beyond its schema: the endpoint's rules and the ``RULES``
    of its body and query schemas and of every schema nested in them."""
    found = list(doc.rules)
    if doc.upload:
        found.append("file: its kind is recognised from its first bytes (documents, images, "
                     "archives, text), else 415.")
    for schema in (doc.body, doc.query):
        if schema is not None:
            found += [rule for rule in _schema_rules(schema, set()) if rule not in found]
    return found


def _schema_rules(schema_class, seen: set) -> list[str]:
    if schema_class in seen or not isinstance(schema_class, type):
        return []
    seen.add(schema_class)
    found = list(getattr(schema_class, "RULES", ()))
    for item in schema_class._declared_fields.values():
        item = getattr(item, "inner", item)
        nested = getattr(item, "nested", None)
        if isinstance(nested, type):
            found += _schema_rules(nested, seen)
    return found


def _operation(doc, path_arguments) -> dict:
    operation = {"summary": doc.summary, "responses": {}}
    rules = rules_of(doc)
    if rules:
        # Checked by the service, answered 422 naming the field; the contract test lets
        # these operations refuse schema-valid requests with 422.
        operation["x-rules"] = rules
    if doc.permission:
        roles = ", ".join(sorted(PERMISSIONS[doc.permission]))
        operation["description"] = f"Roles: {roles}."
        operation["security"] = [{"bearer": []}]
        operation["x-permission"] = doc.permission
        operation["x-roles"] = sorted(PERMISSIONS[doc.permission])
    parameters = [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                  for name in sorted(path_arguments)]
    if rules:
        operation["description"] = (operation.get("description", "") + " Also: "
                                    + " ".join(rules)).strip()
    if doc.query:
        parameters.append({"in": "query", "schema": doc.query})
        errors_for_query = {422}  # a value out of range, or a parameter it does not know
    else:
        errors_for_query = set()
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
    errors = (set(doc.errors) | ({401, 403} if doc.permission else set()) | errors_for_query
              | ({422} if rules else set()))
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
