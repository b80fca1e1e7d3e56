"""A typing test: `mypy --strict` must accept every line here as written.

The lines marked `# type: ignore[...]` are mistakes mypy must catch: with
`--strict` (which warns about unused ignores) the check fails if any of them
stops being an error, e.g. if a parameter's annotation loosens to `object`.
Never run, only type-checked (bindings/test.sh).
"""

import asyncio
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional

import crane_context as cc


def blocking(url: str, key: str) -> None:
    with cc.Client(url, key, store_path="/tmp/crane.db", request_timeout=5.0) as client:
        session: cc.Session = client.start_session("agent", "vc", "owner/repo", track=1, meta={"k": [1, 2]})
        sid: str = session.session_id
        started: Optional[cc.StartInfo] = session.start_info
        due: datetime = session.next_heartbeat_at
        update: cc.UpdateResult = session.update(branch="main")
        beat: cc.HeartbeatInfo = session.heartbeat()
        result: cc.EndResult = session.end("done", {"next": "tests"}, status_label="ok")
        if result.handoff is not None:
            payload: Dict[str, Any] = result.handoff.payload
            created: datetime = result.handoff.created_at
        local: Optional[str] = result.local_id
        latest: Optional[cc.Handoff] = client.latest_handoff(session_id=sid)
        every: Iterator[cc.Handoff] = client.handoffs(venture="vc", repo="owner/repo", page_size=10)
        active: List[cc.SessionInfo] = client.active_sessions("agent", "vc", "owner/repo")
        counts: cc.QueueCounts = client.queue.counts()
        dead: List[cc.QueueItem] = client.queue.dead()
        report: cc.SyncReport = client.sync()
        health: cc.HealthReport = client.health()
        ok: bool = health.healthy and health.status is cc.HealthStatus.HEALTHY
        for event in client.events():
            if isinstance(event, cc.HeartbeatSent):
                when: datetime = event.next_heartbeat_at
            break
        del started, due, update, beat, local, latest, every, active, counts, dead, report, ok

        # Mistakes mypy must catch.
        client.start_session("agent", "vc", "owner/repo", track="not-an-int")  # type: ignore[arg-type]
        client.start_session(agent="a", venture="v")  # type: ignore[call-arg]
        session.end("done", payload=["not", "a", "dict"])  # type: ignore[arg-type]
        session.update("main")  # type: ignore[call-arg]
        client.handoffs(page_size="10")  # type: ignore[arg-type]
        bad: int = session.session_id  # type: ignore[assignment]
        del bad


def v2(url: str, key: str) -> None:
    with cc.Client(url, key, rehome_abandoned=True) as client:
        session = client.start_session("a-b", "vc", "o/r", client_session_id="c1", session_group_id="g")
        group: Optional[str] = session.info.session_group_id
        cp: cc.CheckpointCreated = session.checkpoint("half", done=["a"], blockers=[], next=["b"])
        number: int = cp.checkpoint_number
        cps: List[cc.Checkpoint] = client.checkpoints(session.session_id, limit=5)
        todo: List[str] = cps[0].next
        note: cc.Note = client.notes.create(content="text", title="t", tags=["x"], venture="vc")
        notes: Iterator[cc.Note] = client.notes.list(venture="vc", tags=["x"], page_size=10)
        again: cc.Note = client.notes.update(note.id, title="u")
        gone: cc.Note = client.notes.archive(client.notes.get(note.id).id)
        prior: Optional[cc.SessionInfo] = client.prior("a-b", "vc", "o/r", within_hours=24)
        sibs: List[cc.Sibling] = client.siblings("g", exclude_session_id=session.session_id)
        days: List[cc.HistoryEntry] = client.history(days=7)
        labelled: cc.Handoff = client.set_handoff_status("ho_1", cc.HandoffStatus.READY)
        docs: List[cc.Doc] = client.docs("vc")
        gate: cc.MemoryGate = client.memory_gate()
        end: cc.EndResult = session.end("s", {}, keep_open=True, last_activity_at=datetime.now())
        verify: cc.VerifyReport = client.verify(venture="vc")
        passed: bool = verify.passed and verify.steps[0].result is cc.StepResult.PASS
        doctor: cc.DoctorReport = client.doctor(repo="o/r")
        generation: Optional[str] = doctor.generation
        level: cc.CheckLevel = doctor.checks[0].level
        del group, number, todo, notes, again, gone, prior, sibs, days, labelled, docs, gate, end, passed, generation, level

        # Mistakes mypy must catch.
        session.checkpoint("s", done=[1, 2])  # type: ignore[list-item]
        client.notes.create(title="no content")  # type: ignore[call-arg]
        client.verify("vc")  # type: ignore[call-arg]
        session.end("s", keep_open="yes")  # type: ignore[arg-type]
        client.history(days="7")  # type: ignore[arg-type]


def v2_reads(url: str, key: str) -> None:
    with cc.Client(url, key) as client:
        listed: cc.VentureList = client.ventures()
        stale: bool = listed.stale
        age: Optional[float] = listed.age_seconds
        codes: List[str] = listed.codes
        ke: Optional[cc.Venture] = listed.get("ke")
        if ke is not None:
            repos: List[str] = ke.repos
            portfolio: Optional[Dict[str, Any]] = ke.portfolio
            del repos, portfolio
        active: List[cc.SessionInfo] = client.active(venture="vc", repo="o/r", agent="a", track=1)
        everyone: List[cc.SessionInfo] = client.active()
        since = datetime(2026, 1, 1, tzinfo=timezone.utc)
        window: Iterator[cc.Handoff] = client.handoffs_in_window(created_after=since, created_before=None)
        of_repo: Iterator[cc.Handoff] = client.handoffs_in_window(
            created_after="2026-01-01T00:00:00Z", venture="vc", repo="o/r", track=2, page_size=50
        )
        del stale, age, codes, active, everyone, window, of_repo

        # Mistakes mypy must catch.
        client.active("a")  # type: ignore[call-arg]
        client.active(track="1")  # type: ignore[arg-type]
        client.handoffs_in_window(created_after=20260101)  # type: ignore[arg-type]
        client.handoffs_in_window(since)  # type: ignore[call-arg]
        missing: cc.Venture = listed.get("ke")  # type: ignore[assignment]
        del missing


async def v2_reads_async(url: str, key: str) -> None:
    async with cc.AsyncClient(url, key) as client:
        listed: cc.VentureList = await client.ventures()
        active: List[cc.SessionInfo] = await client.active(agent="a")
        since = datetime(2026, 1, 1, tzinfo=timezone.utc)
        window: AsyncIterator[cc.Handoff] = client.handoffs_in_window(created_after=since, from_agent="a")
        ids: List[str] = [h.id async for h in window]
        del listed, active, ids
        client.handoffs_in_window(created_after=since).__next__  # type: ignore[attr-defined]


def on_event(event: cc.Event) -> None:
    print(event)


def errors(url: str) -> None:
    try:
        cc.Client(url, "key", listener=on_event).close()
    except cc.Unauthorized as e:
        corr: Optional[str] = e.correlation_id
        del corr
    except cc.ServerError as e:
        status: int = e.status
        after: Optional[float] = e.retry_after
        del status, after
    except cc.InvalidInput as e:
        field: str = e.field
        del field
    except cc.CraneError as e:
        message: str = e.message
        del message


async def asynchronous(url: str, key: str) -> None:
    async with cc.AsyncClient(url, key) as client:
        session: cc.AsyncSession = await client.start_session("agent", "vc", "owner/repo")
        result: cc.EndResult = await session.end("done", {"next": "tests"})
        pages: AsyncIterator[cc.Handoff] = client.handoffs(from_agent="agent")
        ids: List[str] = [h.id async for h in pages]
        pending: List[cc.QueueItem] = await client.queue.pending()
        async for event in client.events():
            if isinstance(event, cc.HandoffDelivered):
                handoff_id: str = event.handoff_id
                del handoff_id
            if isinstance(event, cc.HandoffRehomed):
                moved_to: str = event.to_session_id
                del moved_to
            break
        del result, ids, pending
        cp: cc.CheckpointCreated = await session.checkpoint("s", next=["n"])
        note: cc.Note = await client.notes.create("text", venture="vc")
        listed: List[cc.Note] = [n async for n in client.notes.list(query="text")]
        report: cc.VerifyReport = await client.verify()
        doctor: cc.DoctorReport = await client.doctor()
        del cp, note, listed, report, doctor
        await session.end("twice", payload=None, to_agent="next")
        client.start_session("agent", "vc", "owner/repo").session_id  # type: ignore[attr-defined]


if __name__ == "__main__":
    asyncio.run(asynchronous("http://127.0.0.1:1", "key"))
