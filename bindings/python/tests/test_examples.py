"""Every Python example in `examples/python` runs end to end against the
emulator (the git-based ones in a scratch checkout)."""

import json
import os
import subprocess
import sys

from conftest import KEY, REPO_ROOT

EXAMPLES = REPO_ROOT / "examples" / "python"
#: Every file there: scripts are run below, modules are imported by them.
SCRIPTS = {"crane_sod.py", "crane_eod.py", "async_agent.py"}
MODULES = {"agent_context.py"}


def run(script, *args, cwd, env, stdin=None):
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=120,
    )


def checkout(tmp_path, emulator):
    repo = tmp_path / "work"
    repo.mkdir()
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "remote", "add", "origin", "git@github.com:venturecrane/demo-repo.git"],
        ["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "init"],
    ):
        subprocess.run(cmd, cwd=repo, check=True)
    env = dict(os.environ)
    env.update(
        CRANE_CONTEXT_URL=emulator.url,
        CRANE_CONTEXT_KEY=KEY,
        CRANE_HOME=str(tmp_path / "crane-home"),
        CRANE_CONFIG=str(tmp_path / "no-config.toml"),
        PYTHONPATH=str(EXAMPLES) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    (tmp_path / "no-config.toml").write_text("")
    return repo, env


def test_every_example_is_run_here():
    assert {p.name for p in EXAMPLES.glob("*.py")} == SCRIPTS | MODULES


def test_sod_then_eod(tmp_path, emulator):
    repo, env = checkout(tmp_path, emulator)
    sod = run("crane_sod.py", "--agent", "py-example", cwd=repo, env=env)
    assert sod.returncode == 0, sod.stderr
    assert "(created)" in sod.stdout and "venturecrane/demo-repo" in sod.stdout
    sid = sod.stdout.split()[1]

    again = run("crane_sod.py", "--agent", "py-example", cwd=repo, env=env)
    assert again.returncode == 0 and f"session {sid} (resumed)" in again.stdout

    payload = json.dumps({"next": "review", "files": ["a.rs"]})
    eod = run("crane_eod.py", "--agent", "py-example", "--summary", "example day", "--payload", "-",
              cwd=repo, env=env, stdin=payload)
    assert eod.returncode == 0, eod.stderr
    assert f"for session {sid}" in eod.stdout
    (stored,) = emulator.handoffs_of(sid)
    assert stored["summary"] == "example day"

    sod = run("crane_sod.py", "--agent", "py-example", cwd=repo, env=env)
    assert "last handoff: 'example day'" in sod.stdout
    assert "payload: {'files': ['a.rs'], 'next': 'review'}" in sod.stdout


def test_eod_offline_is_queued(tmp_path, emulator):
    repo, env = checkout(tmp_path, emulator)
    sod = run("crane_sod.py", "--agent", "py-offline", cwd=repo, env=env)
    assert sod.returncode == 0, sod.stderr
    emulator.stop()
    eod = run("crane_eod.py", "--agent", "py-offline", "--summary", "offline day", "--require-delivery",
              cwd=repo, env=env)
    assert eod.returncode == 2, eod.stderr
    assert "queued locally" in eod.stdout


def test_async_agent(tmp_path, emulator):
    _, env = checkout(tmp_path, emulator)
    done = run("async_agent.py", "--agent", "py-async-example", "--repo", "owner/repo", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    (stored,) = [h for h in emulator.state()["handoffs"] if h["summary"] == "async agent done"]
    assert f"handoff {stored['id']}: {{'files': ['src/lib.rs'], 'next': 'review'}}" in done.stdout
    assert f"py-async-example: 'async agent done' {{'files': ['src/lib.rs'], 'next': 'review'}}" in done.stdout
    assert done.stdout.rstrip().endswith(" events")
