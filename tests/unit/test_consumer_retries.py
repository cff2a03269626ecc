"""How long a consumer waits before trying a transiently failed message again."""
from services.common.consumers import MAX_ATTEMPTS, retry_pause
from services.common.dead_letters import failed_attempts


def test_pauses_double_up_to_the_cap():
    assert [retry_pause(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert [retry_pause(n, base=0.1, most=0.3) for n in (1, 2, 3)] == [0.1, 0.2, 0.3]


def test_the_default_tries_outlast_a_database_restart():
    waited = sum(retry_pause(n) for n in range(1, MAX_ATTEMPTS))
    assert 120 <= waited <= 300


class Message:
    def __init__(self, headers):
        self.headers = headers


def test_the_tries_so_far_are_read_from_the_message():
    assert failed_attempts(Message({"x-deskflow-attempts": 4})) == 4
    assert failed_attempts(Message({})) == failed_attempts(Message(None)) == 0
    for garbage in ("many", None, -3, [1]):  # a header a foreign publisher set
        assert failed_attempts(Message({"x-deskflow-attempts": garbage})) == 0
