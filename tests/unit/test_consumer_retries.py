"""How long a consumer waits before trying a transiently failed message again."""
from services.common.consumers import MAX_ATTEMPTS, retry_pause


def test_pauses_double_up_to_the_cap():
    assert [retry_pause(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert [retry_pause(n, base=0.1, most=0.3) for n in (1, 2, 3)] == [0.1, 0.2, 0.3]


def test_the_default_tries_outlast_a_database_restart():
    waited = sum(retry_pause(n) for n in range(1, MAX_ATTEMPTS))
    assert 120 <= waited <= 300
