"""The circuit breaker and the bulkhead on their own (a hand-driven clock), and in the Orthanc client."""

from __future__ import annotations

import threading
import time

import pytest

from gallery.orthanc.breaker import CLOSED, OPEN
from gallery.orthanc.client import OrthancClient
from gallery.orthanc.errors import OrthancUnavailable

from ..support.faultproxy import FaultProxy


def trip(client: OrthancClient, proxy: FaultProxy, failures: int = 2) -> list[OrthancUnavailable]:
    """Make the proxy drop every connection until `failures` calls failed: a breaker of that threshold opens."""
    proxy.drop()
    caught = []
    for _ in range(failures):
        with pytest.raises(OrthancUnavailable) as failed:
            client.get_json("/system")
        caught.append(failed.value)
    return caught


def test_client_with_an_open_breaker_refuses_at_once_and_says_nothing_was_sent(orthanc_server):
    proxy = FaultProxy(orthanc_server.port)
    try:
        client = OrthancClient(
            proxy.url, orthanc_server.user, orthanc_server.password, breaker_failures=2, breaker_cooldown=30
        )
        assert client.get_json("/system")["Version"]
        assert all(failure.reached for failure in trip(client, proxy))  # connections made, then dropped
        connections = proxy.connections
        with pytest.raises(OrthancUnavailable) as refused:
            client.request("POST", "/instances", data=b"not sent", queue_wait=1.0)
        assert not refused.value.reached and 25 < refused.value.retry_after <= 30
        assert proxy.connections == connections
    finally:
        proxy.close()


def test_a_call_that_may_wait_past_the_cooldown_waits_for_the_trial(orthanc_server):
    """An upload's file (which may wait long) is not refused by a breaker about to try again."""
    proxy = FaultProxy(orthanc_server.port)
    try:
        client = OrthancClient(
            proxy.url, orthanc_server.user, orthanc_server.password, breaker_failures=2, breaker_cooldown=0.5
        )
        trip(client, proxy)
        proxy.pass_through()
        with pytest.raises(OrthancUnavailable):
            client.request("GET", "/system", queue_wait=0.1)  # would have to wait longer than it may
        started = time.monotonic()
        assert client.request("GET", "/system", queue_wait=5).json()["Version"]
        assert 0.2 < time.monotonic() - started < 3  # it waited for the cooldown, then was the trial
    finally:
        proxy.close()


def test_client_bulkhead_turns_away_calls_beyond_its_cap(orthanc_server):
    proxy = FaultProxy(orthanc_server.port)
    try:
        client = OrthancClient(
            proxy.url, orthanc_server.user, orthanc_server.password, max_concurrent=1, queue_wait=0.1
        )
        proxy.slow(1.0)
        holder = threading.Thread(target=client.get_json, args=("/system",))
        holder.start()
        time.sleep(0.2)
        with pytest.raises(OrthancUnavailable, match="waiting for Orthanc") as turned_away:
            client.get_json("/statistics")
        assert not turned_away.value.reached
        holder.join()
        assert [path for _, path in proxy.requests] == ["/system"]  # the call turned away was never sent
        proxy.pass_through()
        assert client.get_json("/statistics")["CountInstances"] >= 0
        # (a GET on a keep-alive connection Orthanc closed meanwhile is sent again: one or two requests)
        assert {path for _, path in proxy.requests[1:]} == {"/statistics"}
    finally:
        proxy.close()


def test_connection_refused_means_nothing_was_sent_and_the_node_is_asked_again_once_it_listens(orthanc_server):
    proxy = FaultProxy(orthanc_server.port)
    try:
        client = OrthancClient(proxy.url, orthanc_server.user, orthanc_server.password, breaker_cooldown=0.2)
        proxy.refuse()
        for _ in range(5):  # the default threshold
            with pytest.raises(OrthancUnavailable) as refused:
                client.store_instance(b"never sent")
            assert not refused.value.reached
        assert client.breakers[0].state == OPEN
        proxy.pass_through()  # listening again, on the same port
        time.sleep(0.2)
        assert client.get_json("/system")["Version"] and client.breakers[0].state == CLOSED
        assert proxy.requests == [("GET", "/system")]
    finally:
        proxy.close()
