import io
import logging
import sys
from datetime import datetime, timezone

import pytest

from gateway import auth
from gateway.permissions import PERMISSIONS, ROLES, is_allowed
from gateway.users import revokes_sessions
from services.common.context import CallContext
from services.common.errors import Unauthorized, ValidationFailed
from services.common.logs import RequestContextFilter, configure_logging, mask

NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)


@pytest.mark.parametrize("password, ok", [
    ("Secret#123", True), ("abc!1234", True), ("short#1", False), ("NoDigits!!", False),
    ("12345678!", False), ("NoSpecial123", False), ("密码很长的密码1!a", True),
])
def test_password_rule(password, ok):
    assert (auth.password_problems(password) == []) is ok


def test_weak_password_is_a_422_naming_the_field():
    with pytest.raises(ValidationFailed) as error:
        auth.check_password_rule("weak")
    assert "password" in error.value.details["fields"]


def test_generated_passwords_meet_the_rule():
    assert all(auth.password_problems(auth.generate_password()) == [] for _ in range(50))


def test_password_hash_is_argon2_and_verifies():
    hashed = auth.hash_password("Secret#123")
    assert hashed.startswith("$argon2")
    assert auth.verify_password(hashed, "Secret#123")
    assert not auth.verify_password(hashed, "Secret#124")
    assert not auth.verify_password("not-a-hash", "Secret#123")


def test_token_round_trip_and_tampering():
    token = auth.issue_token("k" * 32, "alice", "sales", datetime.now(timezone.utc), 60)
    claims = auth.read_token("k" * 32, token)
    assert (claims["sub"], claims["role"], claims["gen"]) == ("alice", "sales", 0)
    again = auth.read_token("k" * 32, auth.issue_token("k" * 32, "alice", "sales",
                                                       datetime.now(timezone.utc), 60, 3))
    assert again["gen"] == 3 and again["jti"] != claims["jti"]  # each token has its own id
    with pytest.raises(Unauthorized):
        auth.read_token("other-secret-of-sufficient-length", token)


@pytest.mark.parametrize("field, after, revokes", [
    ("role", "support", True), ("active", False, True), ("active", True, False),
    ("team", "east", False), ("email", "a@example.com", False), ("display_name", "A", False),
])
def test_which_user_changes_end_its_sessions(field, after, revokes):
    assert revokes_sessions(field, after) is revokes


def test_expired_token_is_refused():
    token = auth.issue_token("k" * 32, "alice", "sales", datetime(2000, 1, 1, tzinfo=timezone.utc), 60)
    with pytest.raises(Unauthorized, match="expired"):
        auth.read_token("k" * 32, token)


def test_a_token_read_before_is_refused_once_it_expires():
    """Checked claims are remembered per token; its expiry is checked on every read."""
    issued = datetime.now(timezone.utc)
    token = auth.issue_token("k" * 32, "alice", "sales", issued, 60)
    assert auth.read_token("k" * 32, token)["sub"] == "alice"
    assert auth.read_token("k" * 32, token, now=issued.timestamp() + 59)["sub"] == "alice"
    with pytest.raises(Unauthorized, match="expired"):
        auth.read_token("k" * 32, token, now=issued.timestamp() + 61)
    with pytest.raises(Unauthorized, match="not valid"):  # the same token under another key
        auth.read_token("other-secret-of-sufficient-length", token)


def test_an_unknown_user_is_verified_against_a_dummy_hash_and_refused():
    assert not auth.verify_password(None, "Secret#123")


# SPEC §6: admin everything; sales create/edit customers, follow-ups and tickets but not
# delete; support works tickets and reads customers and follow-ups. Issue 8: a manager may
# do everything sales may and read reports (which customers it may change is ownership).
# Issue 10: everyone has tasks (the service scopes what each sees) and reads the workflow
# rules; admins write rules.
TASKS = {"tasks.read", "tasks.write", "rules.read"}
# Issue 11: everyone downloads attachments; removing is checked by the owning service (an
# admin, or the uploader within 24 hours).
ATTACHMENTS = {"attachments.read", "attachments.delete"}
SALES = {"customers.read", "customers.write", "customers.review", "followups.read",
         "followups.write", "tickets.read", "tickets.write", "sla.read", "departments.read",
         "notifications.own", "reports.read", "account.own", "session", *TASKS, *ATTACHMENTS}
EXPECTED = {
    "admin": set(PERMISSIONS),
    "manager": SALES,
    "sales": SALES,
    "support": {"customers.read", "followups.read", "tickets.read", "tickets.write", "sla.read",
                "departments.read", "notifications.own", "account.own", "session", *TASKS,
                *ATTACHMENTS},
}


@pytest.mark.parametrize("role, team, members, acting_for, allowed", [
    ("sales", None, (), "lina", True),
    ("sales", None, (), "wang", False),
    ("manager", "east", ("lina", "wang", "zhao"), "wang", True),
    ("manager", "east", ("lina", "wang", "zhao"), "chen", False),
    ("manager", None, (), "wang", False),
    ("support", None, (), "wang", False),
    ("admin", None, (), "anyone", True),
    (None, None, (), "anyone", True),
])
def test_who_acts_for_whom(role, team, members, acting_for, allowed):
    context = CallContext.from_data({"actor": "lina" if role != "manager" else "zhao",
                                     "actor_role": role, "actor_team": team,
                                     "team_members": list(members)})
    assert context.acts_for(acting_for) is allowed


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("permission", sorted(PERMISSIONS))
def test_permission_table(role, permission):
    assert is_allowed(role, permission) is (permission in EXPECTED[role])


@pytest.mark.parametrize("text, masked", [
    ("call 13812345678 now", "call 138****5678 now"),
    ("+86 13812345678", "+86 138****5678"),
    ("+86 138 1234 5678", "+86 138 **** 5678"),
    ("tel 138-1234-5678.", "tel 138-****-5678."),
    ("0086-13812345678", "0086-138****5678"),
    ("office 010-62345678", "office 010-****5678"),
    ("(021) 5432 1098", "(021) **** 1098"),
    ("１３８１２３４５６７８", "１３８****５６７８"),
    ("＋８６ １３８－１２３４－５６７８", "＋８６ １３８－****－５６７８"),
    ("０１０－６２３４５６７８", "０１０－****５６７８"),
    ("电话13812345678号", "电话138****5678号"),
    ('{"phone": "\\uff11\\uff13\\uff18\\uff11\\uff12\\uff13\\uff14\\uff15\\uff16\\uff17\\uff18"}',
     '{"phone": "\\uff11\\uff13\\uff18****\\uff15\\uff16\\uff17\\uff18"}'),
    ("+1 (415) 555-0100", "+1 (415) ***-0100"),
    ("+44 20 7946 0958", "+44 20 7*** 0958"),
    ("mail alice@example.com", "mail a***@example.com"),
    ("客服.李@example.cn", "客***@example.cn"),
    ("order 2026-TECH-001 ok", "order 2026-TECH-001 ok"),
    ("2026-11-26 16:31:09,123 due 2026-11-25T10:30:00+08:00 took 0.123456789 s",
     "2026-11-26 16:31:09,123 due 2026-11-25T10:30:00+08:00 took 0.123456789 s"),
    ("[ac73d9bf-b055-4bb7-bf22-138123456789] 127.0.0.1:47897 amount 600000.00",
     "[ac73d9bf-b055-4bb7-bf22-138123456789] 127.0.0.1:47897 amount 600000.00"),
])
def test_personal_data_is_masked_in_logs(text, masked):
    assert mask(text) == masked


@pytest.fixture
def process_logging():
    """The logging a process configures, writing to a buffer; put back after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO")
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)
    yield buffer
    root.handlers[:], root.level = handlers, level


def test_tracebacks_are_masked_too(process_logging):
    try:
        raise ValueError("no customer with phone +86 138 1234 5678 or bob@example.com")
    except ValueError:
        logging.getLogger("deskflow.test").exception("lookup of %s failed", "13812345678")
    logged = process_logging.getvalue()
    assert "Traceback" in logged and "ValueError: no customer with phone" in logged
    assert "+86 138 **** 5678" in logged and "b***@example.com" in logged
    assert "138****5678" in logged
    for clear in ("1234 5678", "13812345678", "bob@"):
        assert clear not in logged



def test_expected_service_errors_log_one_line_without_traceback():
    try:
        raise ValueError("bad field")
    except ValueError:
        record = logging.LogRecord("nameko.containers", logging.WARNING, __file__, 1,
                                   "(expected) error handling worker %s: %s", ("w", "bad"),
                                   sys.exc_info())
    RequestContextFilter().filter(record)
    assert record.exc_info is None and record.request_id == "-"
