"""What a service answers an RPC with (services.common.replies): Nameko's reply body,
serialised once, an unserialisable result answered as UnserializableValueError."""
import json

from nameko.exceptions import deserialize

from services.common.errors import NotFound
from services.common.replies import reply_body


def test_a_result_is_serialised_once_as_nameko_replies():
    result, exc_info, (content_type, encoding, body) = reply_body({"id": "T-1"}, None, "json")
    assert (result, exc_info, content_type) == ({"id": "T-1"}, None, "application/json")
    assert json.loads(body) == {"result": {"id": "T-1"}, "error": None}


def test_an_error_travels_as_nameko_serialises_it():
    error = NotFound("No T-2.", {"id": "T-2"})
    _, exc_info, (_, _, body) = reply_body(None, (NotFound, error, None), "json")
    assert exc_info[1] is error
    assert json.loads(body)["error"]["exc_type"] == "NotFound"


def test_an_unserialisable_result_is_answered_as_an_error():
    result, exc_info, (_, _, body) = reply_body({"at": object()}, None, "json")
    assert result is None and exc_info is not None
    reply = json.loads(body)
    assert reply["result"] is None
    assert type(deserialize(reply["error"])).__name__ == "RemoteError"
    assert reply["error"]["exc_type"] == "UnserializableValueError"
