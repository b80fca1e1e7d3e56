"""The v2 generation (the emulator's default, the service of today): checkpoints,
notes, handoff status, prior session, siblings, keep-open ends, and
``verify``/``doctor``, through the keyword API, blocking and asyncio."""

from datetime import datetime, timezone

import pytest

import crane_context as cc

from conftest import KEY, REPO, VENTURE, make_async_client, make_client


def test_done_when_a_v2_session_with_a_checkpoint_a_note_and_a_handoff(emulator, tmp_path):
    """Issue #15's Python acceptance: one v2 session, each write read back from the server."""
    assert emulator.protocol == "v2"
    payload = {"next": ["ship the wheel"], "tests": 12}
    with cc.Client(emulator.url, KEY, store_path=tmp_path / "c.db") as c:
        session = c.start_session(
            agent="py-v2",
            venture=VENTURE,
            repo=REPO,
            branch="main",
            client_session_id="py-local-1",
            session_group_id="grp-py",
        )
        assert session.info.client_session_id == "py-local-1"
        assert session.info.session_group_id == "grp-py"

        cp = session.checkpoint("bindings half done", done=["python"], blockers=["ci"], next=["swift"])
        assert cp.session_id == session.session_id and cp.checkpoint_number == 1
        assert cp.created_at.tzinfo is not None
        (back,) = session.checkpoints()
        assert (back.id, back.summary, back.done, back.blockers, back.next) == (
            cp.checkpoint_id,
            "bindings half done",
            ["python"],
            ["ci"],
            ["swift"],
        )
        assert [c.id for c in c.checkpoints(session.session_id)] == [cp.checkpoint_id]

        note = c.notes.create(
            content="the wheel installs without Rust",
            title="wheel",
            tags=["python"],
            venture=VENTURE,
            session_id=session.session_id,
        )
        assert note.id and note.tags == ["python"] and note.venture == VENTURE
        assert c.notes.get(note.id) == note
        assert [n.id for n in c.notes.list(venture=VENTURE, tags=["python"])] == [note.id]

        result = session.end("v2 from Python", payload, status_label="ready")
        assert result.delivered and result.handoff is not None and result.ended_at is not None
        handoff = c.latest_handoff(session_id=session.session_id)
        assert handoff is not None and handoff.payload == payload and handoff.id == result.handoff.id

        labelled = c.set_handoff_status(handoff.id, cc.HandoffStatus.DONE)
        assert labelled.id == handoff.id and labelled.status_label == "done"
        assert c.latest_handoff(session_id=session.session_id).status_label == "done"  # type: ignore[union-attr]

        prior = c.prior("py-v2", VENTURE, REPO)
        assert prior is not None and prior.id == session.session_id and prior.status == "ended"


async def test_v2_session_with_checkpoint_note_and_handoff_async(emulator, tmp_path):
    async with make_async_client(emulator.url, tmp_path / "a.db") as c:
        session = await c.start_session("py-v2-async", VENTURE, REPO)
        cp = await session.checkpoint("async checkpoint", next=["end"])
        assert [x.id for x in await session.checkpoints()] == [cp.checkpoint_id]
        note = await c.notes.create("async note", title="a", venture=VENTURE)
        assert (await c.notes.get(note.id)).content == "async note"
        assert note.id in [n.id async for n in c.notes.list(venture=VENTURE)]
        result = await session.end("async v2", {"ok": True})
        assert result.delivered
        back = await c.latest_handoff(session_id=session.session_id)
        assert back is not None and back.payload == {"ok": True}
        verify = await c.verify()
        assert verify.passed, verify
        assert (await c.doctor()).generation == "v2"


def test_notes_update_archive_and_list_every_page(client):
    ids = [client.notes.create(f"note {i}", title=f"t{i}", venture=VENTURE, tags=["paged"]).id for i in range(3)]
    listed = [n.id for n in client.notes.list(venture=VENTURE, tags=["paged"], page_size=1)]
    assert sorted(listed) == sorted(ids) and len(listed) == 3

    updated = client.notes.update(ids[0], title="renamed", tags=["paged", "kept"])
    assert (updated.title, updated.tags, updated.content) == ("renamed", ["paged", "kept"], "note 0")
    archived = client.notes.archive(ids[1])
    assert archived.archived
    assert ids[1] not in [n.id for n in client.notes.list(venture=VENTURE, tags=["paged"])]
    assert ids[1] in [n.id for n in client.notes.list(venture=VENTURE, tags=["paged"], include_archived=True)]

    with pytest.raises(cc.NotFound):
        client.notes.get("note_does_not_exist")


def test_keep_open_end_leaves_the_session_active_and_siblings_see_it(client):
    a = client.start_session("py-keep", VENTURE, REPO, session_group_id="grp-keep")
    b = client.start_session("py-other", VENTURE, REPO, session_group_id="grp-keep")
    sibs = client.siblings("grp-keep", exclude_session_id=a.session_id)
    assert [s.id for s in sibs] == [b.session_id]

    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    kept = a.end("checkpointed handoff", {"step": 1}, keep_open=True, last_activity_at=at)
    assert kept.delivered and kept.ended_at is None
    active = client.active_sessions("py-keep", VENTURE, REPO)
    assert [s.id for s in active] == [a.session_id]

    with pytest.raises(cc.InvalidInput) as e:
        client.end_session(b.session_id, "naive", last_activity_at=datetime(2026, 1, 1))
    assert e.value.field == "last_activity_at"
    with pytest.raises(cc.InvalidInput) as e:
        client.set_handoff_status("ho_x", "finished")
    assert e.value.field == "label"


@pytest.mark.parametrize("protocol", ["v2", "v1"])
def test_verify_passes_and_doctor_reports_the_generation(protocol, request, tmp_path):
    emu = request.getfixturevalue("emulator" if protocol == "v2" else "emulator_v1")
    assert emu.protocol == protocol
    with make_client(emu.url, tmp_path / f"{protocol}.db") as c:
        report = c.verify()
        assert report.passed and bool(report), report
        assert report.steps and all(s.result is cc.StepResult.PASS for s in report.steps)
        assert report.generation == protocol
        assert "VerifyReport(" in repr(report) and "steps=" in repr(report)

        doctor = c.doctor(repo="venturecrane/crane-context")
        assert doctor.generation == protocol
        assert any(ch.name == "generation" for ch in doctor.checks)
        if protocol == "v2":
            assert doctor.schema_version is not None and doctor.server_commit


def test_keep_open_is_refused_by_a_v1_server(emulator_v1, tmp_path):
    with make_client(emulator_v1.url, tmp_path / "v1.db") as c:
        s = c.start_session("py-v1", VENTURE, REPO)
        with pytest.raises(cc.InvalidInput) as e:
            s.end("keep", keep_open=True)
        assert e.value.field == "keep_session_open"
        assert s.end("really end").delivered
