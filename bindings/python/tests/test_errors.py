"""Typed errors: each carries `message` and `correlation_id`, and nothing
invalid is sent or queued."""

import json

import pytest

import crane_context as cc

from conftest import KEY, end_request, make_client, start_request


def test_wrong_key_is_unauthorized(emulator, tmp_path):
    client = make_client(emulator.url, tmp_path / "c.db", key="wrong-key-0123456789")
    with pytest.raises(cc.CraneError.Unauthorized) as err:
        client.start_session_blocking(start_request())
    assert err.value.correlation_id
    assert err.value.correlation_id in err.value.message
    assert isinstance(err.value, cc.CraneError)
    client.shutdown()


async def test_wrong_key_async(emulator, tmp_path):
    client = make_client(emulator.url, tmp_path / "c.db", key="wrong-key-0123456789")
    with pytest.raises(cc.CraneError.Unauthorized):
        await client.active_sessions("a", "vc", "o/r")
    client.shutdown()


def test_unknown_session(client):
    with pytest.raises(cc.CraneError.NotFound) as err:
        client.update_session_blocking("sess_01HZZZZZZZZZZZZZZZZZZZZZZZ", cc.UpdateRequest(branch="x"))
    assert err.value.correlation_id
    assert client.latest_handoff_blocking(cc.LatestHandoffQuery.SESSION(session_id="sess_nope")) is None


def test_ended_session_is_not_active(client):
    session = client.start_session_blocking(start_request(auto_heartbeat=False))
    assert session.end_blocking(end_request()).is_delivered()
    with pytest.raises(cc.CraneError.SessionNotActive) as err:
        session.heartbeat_now_blocking()
    assert err.value.status in (None, "ended")


def test_oversized_payload_is_refused_before_sending(client, emulator):
    session = client.start_session_blocking(start_request(auto_heartbeat=False))
    big = {"blob": "x" * 900_000}
    with pytest.raises(cc.CraneError.PayloadTooLarge) as err:
        session.end_blocking(end_request(payload=big))
    assert "819200" in err.value.message
    assert emulator.state()["requests_count"].get("/eod", 0) == 0
    assert client.pending_items_blocking() == [] and client.dead_items_blocking() == []


@pytest.mark.parametrize("payload_json", ["[1, 2]", '"text"', "42", "null", "{not json"])
def test_payload_must_be_a_json_object(client, payload_json):
    session = client.start_session_blocking(start_request(auto_heartbeat=False))
    with pytest.raises(cc.CraneError.InvalidInput) as err:
        session.end_blocking(cc.EndRequest(summary="s", payload_json=payload_json))
    assert err.value.field == "payload"
    assert err.value.correlation_id is None


def test_other_invalid_input(client, emulator):
    with pytest.raises(cc.CraneError.InvalidInput) as err:
        client.start_session_blocking(start_request(meta_json="[1]"))
    assert err.value.field == "meta"
    with pytest.raises(cc.CraneError.InvalidInput) as err:
        client.start_session_blocking(start_request(meta_json="{oops"))
    assert err.value.field == "meta_json"
    with pytest.raises(cc.CraneError.InvalidInput):
        client.start_session_blocking(cc.StartRequest(agent=" ", venture="vc", repo="o/r"))
    with pytest.raises(cc.CraneError.InvalidInput) as err:
        client.handoffs_blocking(cc.HandoffFilter.FROM_AGENT(agent="a"), limit=0)
    assert err.value.field == "limit"
    session = client.start_session_blocking(start_request(auto_heartbeat=False))
    with pytest.raises(cc.CraneError.InvalidInput):
        session.end_blocking(end_request(summary=""))
    assert emulator.state()["requests_count"].get("/eod", 0) == 0


def test_bad_client_configuration(tmp_path):
    with pytest.raises(cc.CraneError.InvalidInput) as err:
        cc.CraneClient("http://crane.example", KEY)
    assert err.value.field == "url"
    with pytest.raises(cc.CraneError.InvalidInput) as err:
        cc.CraneClient("https://crane.example", "  ")
    assert err.value.field == "relay_key"


def test_server_errors_carry_the_correlation_id_and_retry_after(client, emulator):
    emulator.fault(route="/active", mode="status", status=503, retry_after=1, count=10)
    with pytest.raises(cc.CraneError.Server) as err:
        client.active_sessions_blocking("a", "vc", "o/r")
    assert err.value.status == 503
    assert err.value.correlation_id
    assert err.value.retry_after_seconds == 1.0


def test_from_env(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("CRANE_CONTEXT_URL", emulator.url)
    monkeypatch.setenv("CRANE_CONTEXT_KEY", KEY)
    monkeypatch.setenv("CRANE_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(cc.CraneError.InvalidInput) as err:
        cc.CraneClient.from_env()  # a config file named explicitly must exist
    assert err.value.field == "config"
    monkeypatch.delenv("CRANE_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    client = cc.CraneClient.from_env(cc.ClientOptions(store_path=str(tmp_path / "env.db")))
    assert client.url().rstrip("/") == emulator.url.rstrip("/")
    assert client.health_blocking().status == cc.HealthStatus.HEALTHY
    client.shutdown()
