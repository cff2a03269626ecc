"""Administration: the dead letters (messages a consumer refused, with the reason)."""
from flask import Blueprint, current_app

from gateway.api.endpoint import endpoint, json_body, query_args
from gateway.dead_letters import Selection
from gateway.schemas import DeadLetterCountSchema, DeadLetterListSchema, DeadLetterSelectionSchema
from services.common.schemas import load_or_422, schema_of

blueprint = Blueprint("admin", __name__)


def _selection(values: dict) -> Selection:
    return Selection(**load_or_422(schema_of(DeadLetterSelectionSchema), values))


def _box():
    return current_app.extensions["deskflow"].dead_letters


@endpoint(blueprint, "/admin/dead-letters", "GET",
          "Dead letters, oldest first: reason, consumer, routing key, first seen, body preview.",
          "deadletters.manage", query=DeadLetterSelectionSchema, response=DeadLetterListSchema,
          errors=(422, 503))
def list_dead_letters():
    return _box().list(_selection(query_args()))


@endpoint(blueprint, "/admin/dead-letters/replay", "POST",
          "Send dead letters back to their consumer: all, those of one consumer, or one by id.",
          "deadletters.manage", body=DeadLetterSelectionSchema, response=DeadLetterCountSchema,
          errors=(422, 503))
def replay_dead_letters():
    return {"count": _box().replay(_selection(json_body()))}


@endpoint(blueprint, "/admin/dead-letters", "DELETE",
          "Drop dead letters: all, those of one consumer, or one by id.", "deadletters.manage",
          query=DeadLetterSelectionSchema, response=DeadLetterCountSchema, errors=(422, 503))
def delete_dead_letters():
    return {"count": _box().delete(_selection(query_args()))}
