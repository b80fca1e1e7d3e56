"""Typed errors: one exception class per kind, rooted at CraneError, each
with `message`, `correlation_id` and its variant's fields; nothing invalid is
sent or queued."""

import math

import pytest

import crane_context as cc

from conftest import KEY, REPO, VENTURE, make_async_client, make_client, start


def test_the_hierarchy():
    kinds = [
        cc.Unauthorized, cc.NotFound, cc.SessionNotActive, cc.PayloadTooLarge, cc.ValidationError,
        cc.RateLimited, cc.ServerError, cc.NetworkError, cc.Timeout, cc.Offline, cc.DecodeError,
        cc.InvalidInput, cc.HandoffConflict, cc.StoreError, cc.QueueFull, cc.InternalError,
    ]
    assert all(issubclass(k, cc.CraneError) for k in kinds)
    assert len(set(kinds)) == len(kinds)
    assert issubclass(cc.Timeout, cc.NetworkError) and issubclass(cc.Offline, cc.NetworkError)
    assert issubclass(cc.InvalidInput, ValueError)
    # The generated classes stay private.
    assert not any(k.__module__.startswith("crane_context._native") for k in kinds)


def test_wrong_key_is_unauthorized(emulator, tmp_path):
    with make_client(emulator.url, tmp_path / "c.db", key="wrong-key-0123456789") as client:
        with pytest.raises(cc.Unauthorized) as err:
            start(client)
    assert err.value.correlation_id
    assert err.value.correlation_id in err.value.message
    assert str(err.value) == err.value.message
    assert repr(err.value).startswith("Unauthorized(message=")


async def test_wrong_key_async(emulator, tmp_path):
    async with make_async_client(emulator.url, tmp_path / "c.db", key="wrong-key-0123456789") as client:
        with pytest.raises(cc.Unauthorized):
            await client.active_sessions("a", "vc", "o/r")


def test_unknown_session(client):
    with pytest.raises(cc.NotFound) as err:
        client.update_session("sess_01HZZZZZZZZZZZZZZZZZZZZZZZ", branch="x")
    assert err.value.correlation_id
    assert client.latest_handoff(session_id="sess_nope") is None


def test_ended_session_is_not_active(client):
    session = start(client, auto_heartbeat=False)
    assert session.end("done").delivered
    with pytest.raises(cc.SessionNotActive) as err:
        session.heartbeat()
    assert err.value.status in (None, "ended")
    assert "status=" in repr(err.value)


def test_oversized_payload_is_refused_before_sending(client, emulator):
    session = start(client, auto_heartbeat=False)
    with pytest.raises(cc.PayloadTooLarge) as err:
        session.end("big", {"blob": "x" * 900_000})
    assert "819200" in err.value.message
    assert emulator.state()["requests_count"].get(emulator.end_route, 0) == 0
    assert client.queue.pending() == [] and client.queue.dead() == []


@pytest.mark.parametrize(
    "payload, field",
    [
        ([1, 2], "payload"),  # not an object: the library refuses it
        ({"when": object()}, "payload"),  # not JSON-serializable
        ({"x": math.nan}, "payload"),  # JSON has no NaN
    ],
)
def test_payload_must_be_a_json_object(client, emulator, payload, field):
    session = start(client, auto_heartbeat=False)
    with pytest.raises(cc.InvalidInput) as err:
        session.end("s", payload)
    assert err.value.field == field
    assert err.value.correlation_id is None
    assert emulator.state()["requests_count"].get(emulator.end_route, 0) == 0


def test_other_invalid_input(client, emulator):
    with pytest.raises(cc.InvalidInput) as err:
        start(client, meta={"bad": {1, 2}})
    assert err.value.field == "meta"
    with pytest.raises(cc.InvalidInput) as err:
        client.start_session(" ", VENTURE, REPO)
    assert err.value.field == "agent"
    with pytest.raises(cc.InvalidInput) as err:
        next(client.handoffs(from_agent="a", page_size=0))
    assert err.value.field == "limit"
    session = start(client, auto_heartbeat=False)
    with pytest.raises(cc.InvalidInput):
        session.end("")
    assert emulator.state()["requests_count"].get(emulator.end_route, 0) == 0


def test_query_arguments_that_do_not_go_together(client):
    with pytest.raises(cc.InvalidInput) as err:
        client.latest_handoff(venture=VENTURE, repo=REPO)
    assert err.value.field == "track"
    with pytest.raises(cc.InvalidInput) as err:
        client.latest_handoff(session_id="sess_x", track=1)
    assert err.value.field == "track"
    with pytest.raises(cc.InvalidInput) as err:
        client.handoffs()
    assert err.value.field == "filter"
    with pytest.raises(cc.InvalidInput) as err:
        client.handoffs(venture=VENTURE)
    assert err.value.field == "repo"
    with pytest.raises(cc.InvalidInput) as err:
        client.handoffs(venture=VENTURE, repo=REPO, track=1, issue_number=2)
    assert err.value.field == "issue_number"


def test_bad_client_configuration(tmp_path):
    with pytest.raises(cc.InvalidInput) as err:
        cc.Client("http://crane.example", KEY, store_path=tmp_path / "c.db")
    assert err.value.field == "url"
    with pytest.raises(cc.InvalidInput) as err:
        cc.Client("https://crane.example", "  ", store_path=tmp_path / "c.db")
    assert err.value.field == "relay_key"
    with pytest.raises(cc.InvalidInput) as err:
        cc.Client("https://crane.example")
    assert err.value.field == "key"
    with pytest.raises(cc.InvalidInput) as err:
        cc.Client("https://crane.example", KEY, request_timeout=-1)
    assert err.value.field == "request_timeout"


def test_server_errors_carry_the_correlation_id_and_retry_after(client, emulator):
    emulator.fault(route="/active", mode="status", status=503, retry_after=1, count=10)
    with pytest.raises(cc.ServerError) as err:
        client.active_sessions("a", "vc", "o/r")
    assert err.value.status == 503
    assert err.value.correlation_id
    assert err.value.retry_after == 1.0


def test_rate_limited(client, emulator):
    emulator.fault(route="/active", mode="status", status=429, retry_after=2, count=10)
    with pytest.raises(cc.RateLimited) as err:
        client.active_sessions("a", "vc", "o/r")
    assert err.value.retry_after == 2.0 and err.value.correlation_id


def test_validation_error_lists_fields(client, emulator):
    emulator.fault(route="/active", mode="status", status=400, count=1)
    with pytest.raises(cc.ValidationError) as err:
        client.active_sessions("a", "vc", "o/r")
    assert err.value.correlation_id
    assert isinstance(err.value.fields, list)


def test_an_unreachable_server_is_a_network_error(emulator, tmp_path):
    url = emulator.url
    emulator.stop()
    with make_client(url, tmp_path / "c.db") as client:
        with pytest.raises(cc.NetworkError) as err:
            client.active_sessions("a", "vc", "o/r")
    assert err.value.correlation_id is None


def test_from_env(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("CRANE_CONTEXT_URL", emulator.url)
    monkeypatch.setenv("CRANE_CONTEXT_KEY", KEY)
    monkeypatch.setenv("CRANE_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(cc.InvalidInput) as err:
        cc.Client.from_env(store_path=tmp_path / "env.db")  # a config file named explicitly must exist
    assert err.value.field == "config"
    monkeypatch.delenv("CRANE_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    with cc.Client.from_env(store_path=tmp_path / "env.db") as client:
        assert client.url.rstrip("/") == emulator.url.rstrip("/")
        assert client.health().healthy
    with cc.Client(store_path=tmp_path / "env2.db") as client:  # no url and key: the same
        assert client.health().healthy


def test_from_env_with_a_profile(emulator, tmp_path, monkeypatch):
    monkeypatch.delenv("CRANE_CONTEXT_URL", raising=False)
    monkeypatch.delenv("CRANE_CONTEXT_KEY", raising=False)
    monkeypatch.delenv("CRANE_ENV", raising=False)
    key_file = tmp_path / "key"
    key_file.write_text(KEY)
    key_file.chmod(0o600)
    config = tmp_path / "config.toml"
    config.write_text(
        'default_profile = "other"\n'
        '[profiles.other]\nurl = "http://127.0.0.1:9"\n'
        f'[profiles.local]\nurl = "{emulator.url}"\nkey_file = "{key_file}"\n'
    )
    config.chmod(0o600)
    monkeypatch.setenv("CRANE_CONFIG", str(config))
    with cc.Client.from_env(profile="local", store_path=tmp_path / "p.db") as client:
        assert client.url.rstrip("/") == emulator.url.rstrip("/")
        assert client.health().healthy
    with pytest.raises(cc.InvalidInput):
        cc.Client.from_env(profile="missing", store_path=tmp_path / "p.db")
