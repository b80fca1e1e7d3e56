"""Fixtures: the real emulator binary on a free port, and clients of it.

Each test gets its own emulator process (with a SQLite file, so it can be
stopped and restarted on the same port with the same data) and its own
client store, so tests are independent and can run in any order.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, List, Optional

import pytest

import crane_context as cc

KEY = "test-relay-key-0123456789abcdef"
REPO_ROOT = Path(__file__).resolve().parents[3]
EMULATOR_BIN = Path(
    os.environ.get("CRANE_EMULATOR_BIN", REPO_ROOT / "target" / "debug" / "crane-context-emulator")
)
LISTENING = "crane-context-emulator listening on "


class Emulator:
    """A `crane-context-emulator` process, restartable on the same port and database."""

    def __init__(self, db: Path, heartbeat_interval: str = "480-720", protocol: str = "v2") -> None:
        self.db = db
        self.heartbeat_interval = heartbeat_interval
        #: ``v2`` (the service of today, the emulator's default) or ``v1`` (January's).
        self.protocol = protocol
        #: The route a session end goes to: ``/eos`` on v2, ``/eod`` on v1.
        self.end_route = "/eos" if protocol == "v2" else "/eod"
        self.port = 0
        self.url = ""
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> "Emulator":
        if not EMULATOR_BIN.exists():
            raise RuntimeError(
                f"{EMULATOR_BIN} is missing: cargo build --features emulator --bin crane-context-emulator"
            )
        self.proc = subprocess.Popen(
            [
                str(EMULATOR_BIN),
                "--port", str(self.port),
                "--key", KEY,
                "--db", str(self.db),
                "--heartbeat-interval", self.heartbeat_interval,
                "--protocol", self.protocol,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith(LISTENING):
            self.stop()
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.url = line[len(LISTENING):]
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def restart(self) -> None:
        """Starts again on the same port with the same database."""
        self.stop()
        deadline = time.monotonic() + 10
        while True:
            try:
                self.start()
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def control(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}/__emulator/{path}",
            data=data,
            method=method,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"{}")

    def state(self) -> dict:
        return self.control("GET", "state")

    def fault(self, **rule) -> None:
        self.control("POST", "faults", rule)

    def handoffs_of(self, session_id: str) -> List[dict]:
        return [h for h in self.state()["handoffs"] if h["session_id"] == session_id]


def native_thread_name() -> str:
    """The OS name of the calling thread (Python names foreign threads `Dummy-N`)."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/comm") as f:
            return f.read().strip()
    except OSError:
        return threading.current_thread().name


class Recorder:
    """A listener (any callable taking an event): collects events from the SDK's threads; tests wait on them."""

    def __init__(self) -> None:
        self.events: List[cc.Event] = []
        self.threads: set = set()
        self.cond = threading.Condition()

    def __call__(self, event: cc.Event) -> None:
        with self.cond:
            self.events.append(event)
            self.threads.add(native_thread_name())
            self.cond.notify_all()

    def of(self, kind: type) -> List[Any]:
        with self.cond:
            return [e for e in self.events if isinstance(e, kind)]

    def wait_for(self, pred: Callable[[List[cc.Event]], bool], timeout: float) -> List[cc.Event]:
        with self.cond:
            if not self.cond.wait_for(lambda: pred(self.events), timeout=timeout):
                raise AssertionError(f"timed out after {timeout}s; events: {self.events}")
            return list(self.events)


def make_client(url: str, store: Path, listener: Optional[Callable[[cc.Event], None]] = None, key: str = KEY) -> cc.Client:
    return cc.Client(url, key, store_path=store, heartbeat_jitter=0, listener=listener)


def make_async_client(url: str, store: Path, listener: Optional[Callable[[cc.Event], None]] = None, key: str = KEY) -> cc.AsyncClient:
    return cc.AsyncClient(url, key, store_path=store, heartbeat_jitter=0, listener=listener)


#: The tuple most tests start sessions of.
VENTURE, REPO = "vc", "venturecrane/crane-context"


@pytest.fixture
def emulator(tmp_path: Path):
    emu = Emulator(tmp_path / "emulator.db").start()
    yield emu
    emu.stop()


@pytest.fixture
def emulator_v1(tmp_path: Path):
    """An emulator speaking January's v1 protocol (/sod, /eod), for tests about v1."""
    emu = Emulator(tmp_path / "emulator-v1.db", protocol="v1").start()
    yield emu
    emu.stop()


@pytest.fixture
def fast_emulator(tmp_path: Path):
    """An emulator proposing 1–2 s heartbeat intervals."""
    emu = Emulator(tmp_path / "emulator.db", heartbeat_interval="1-2").start()
    yield emu
    emu.stop()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(emulator: Emulator, tmp_path: Path, recorder: Recorder):
    with make_client(emulator.url, tmp_path / "crane.db", recorder) as c:
        yield c


@pytest.fixture
def client_v1(emulator_v1: Emulator, tmp_path: Path, recorder: Recorder):
    """A client of the v1 emulator."""
    with make_client(emulator_v1.url, tmp_path / "crane-v1.db", recorder) as c:
        yield c


@pytest.fixture
async def aclient(emulator: Emulator, tmp_path: Path, recorder: Recorder):
    async with make_async_client(emulator.url, tmp_path / "crane.db", recorder) as c:
        yield c


def start(client: cc.Client, agent: str = "py-agent", **kw: Any) -> cc.Session:
    """Starts a session of `agent` on the usual venture and repo."""
    return client.start_session(agent, VENTURE, REPO, **kw)
