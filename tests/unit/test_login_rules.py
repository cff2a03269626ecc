"""The login rules: client addresses behind proxies, networks, the throttle's wait and
which logins deserve an alert."""
from datetime import datetime, timedelta, timezone

import pytest

from gateway import logins

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
PROXIES = logins.parse_networks("10.0.0.5, 172.16.0.0/12 ::1")


@pytest.mark.parametrize("peer, forwarded, expected", [
    ("203.0.113.7", None, "203.0.113.7"),
    ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # not a trusted proxy: header ignored
    ("10.0.0.5", "198.51.100.1", "198.51.100.1"),
    ("10.0.0.5", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client wrote the first one
    ("10.0.0.5", "198.51.100.1, 172.16.3.4", "198.51.100.1"),  # through two of our proxies
    ("10.0.0.5", "garbage, 198.51.100.1", "198.51.100.1"),
    ("10.0.0.5", "198.51.100.1, garbage", "10.0.0.5"),
    ("10.0.0.5", None, "10.0.0.5"),
    ("::1", "2001:db8::1", "2001:db8::1"),
    ("::ffff:10.0.0.5", "198.51.100.9", "198.51.100.9"),  # an IPv4-mapped peer
])
def test_client_address_honours_forwarded_for_only_from_trusted_proxies(peer, forwarded,
                                                                         expected):
    assert logins.client_address(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_header_is_never_read():
    assert logins.client_address("10.0.0.5", "198.51.100.1", ()) == "10.0.0.5"


def test_a_bad_trusted_proxies_setting_fails_at_start():
    with pytest.raises(ValueError):
        logins.parse_networks("10.0.0.300")


@pytest.mark.parametrize("address, network", [
    ("198.51.100.77", "198.51.100.0/24"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("::ffff:198.51.100.77", "198.51.100.0/24"),
    ("unknown", "unknown"),
])
def test_network_of_an_address(address, network):
    assert logins.network_of(address) == network


def failures(*minutes_ago):
    return [NOW - timedelta(minutes=minutes) for minutes in minutes_ago]


def test_retry_after_counts_from_the_oldest_of_the_last_failures():
    assert logins.retry_after(failures(1, 2, 3, 4), 5, NOW) is None
    assert logins.retry_after(failures(1, 2, 3, 4, 10), 5, NOW) == 5 * 60
    assert logins.retry_after(failures(0, 0, 0, 0, 0), 5, NOW) == 15 * 60
    almost = [NOW - logins.FAILURE_WINDOW + timedelta(milliseconds=10)] * 5
    assert logins.retry_after(almost, 5, NOW) == 1  # never 0: "now" is not a wait


@pytest.mark.parametrize("before, seen, alert", [
    (False, False, False),  # the very first login
    (True, False, True),
    (True, True, False),
])
def test_which_logins_deserve_an_alert(before, seen, alert):
    assert logins.deserves_alert(before, seen) is alert
