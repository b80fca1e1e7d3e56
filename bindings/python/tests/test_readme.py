"""The READMEs' Python snippets run as written against the emulator: the
three of bindings/python/README.md and the one of the repository's README."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KEY, REPO_ROOT

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
ROOT_BLOCKS = re.findall(r"```python\n(.*?)```", (REPO_ROOT / "README.md").read_text(), re.S)


def run(code, emulator, tmp_path, handoffs=1):
    env = dict(
        os.environ,
        CRANE_HOME=str(tmp_path / "home"),
        CRANE_CONTEXT_URL=emulator.url,
        CRANE_CONTEXT_KEY=KEY,
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert emulator.state()["handoffs_count"] == handoffs
    return done.stdout


@pytest.mark.parametrize("index", [0, 1, 2], ids=["lifecycle", "asyncio", "v2"])
def test_readme_snippet_runs(index, emulator, tmp_path):
    out = run(BLOCKS[index], emulator, tmp_path)
    if index == 0:
        lines = out.splitlines()
        assert lines[0].startswith("stored ho_") and " tests 20" in lines[0], out
        assert lines[1].startswith("wrong key: corr") or lines[1].startswith("wrong key: "), out
    elif index == 1:
        assert out.strip() == "done {'next': 'tests'}"
    else:
        assert out.splitlines() == ["[['tests']] ['parser']", "ended v2"], out


def test_root_readme_snippet_runs(emulator, tmp_path):
    (block,) = ROOT_BLOCKS
    assert run(block, emulator, tmp_path).strip() == "stored"
