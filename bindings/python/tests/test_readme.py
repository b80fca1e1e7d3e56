"""The README's snippets run as written against the emulator."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KEY

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


@pytest.mark.parametrize("index", [0, 1], ids=["lifecycle", "asyncio"])
def test_readme_snippet_runs(index, emulator, tmp_path):
    code = BLOCKS[index]
    env = dict(
        os.environ,
        CRANE_HOME=str(tmp_path / "home"),
        CRANE_CONTEXT_URL=emulator.url,
        CRANE_CONTEXT_KEY=KEY,
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    state = emulator.state()
    assert state["handoffs_count"] == 1
    if index == 0:
        assert done.stdout.startswith("stored ho_")
