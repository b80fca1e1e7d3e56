"""What `crane sod` and `crane eod` detect about the checkout they run in.

Shared by `crane_sod.py` and `crane_eod.py`: the repository from `git remote
get-url origin` (https and ssh forms), branch and commit from git, the venture
from the org (the same defaults as the CLI), and the agent name
`<client>-<host>` in lowercase letters, digits and dashes.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from dataclasses import dataclass
from typing import Optional

VENTURES = {"venturecrane": "vc", "siliconcrane": "sc", "durganfieldguide": "dfg"}
CLIENT_ENV = {"CLAUDE_CLI_VERSION": "claude", "CODEX_CLI_VERSION": "codex", "GEMINI_CLI_VERSION": "gemini"}


def git(*args: str) -> Optional[str]:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def repo_from_remote(url: str) -> Optional[str]:
    """`owner/name` from `https://github.com/owner/name.git` or `git@github.com:owner/name.git`."""
    m = re.search(r"[:/]([^/:]+)/([^/]+?)(?:\.git)?/?$", url)
    return f"{m.group(1)}/{m.group(2)}" if m else None


def sanitize(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")


@dataclass
class Checkout:
    agent: str
    venture: str
    repo: str
    branch: Optional[str]
    commit_sha: Optional[str]
    client: str
    host: str


def detect(agent: Optional[str] = None, venture: Optional[str] = None, repo: Optional[str] = None) -> Checkout:
    remote = git("remote", "get-url", "origin")
    repo = repo or (repo_from_remote(remote) if remote else None)
    if not repo:
        raise SystemExit("cannot tell the repository: no git remote 'origin'; pass --repo owner/name")
    org = repo.split("/", 1)[0].lower()
    venture = venture or VENTURES.get(org)
    if not venture:
        raise SystemExit(f"no venture known for org {org!r}; pass --venture CODE")
    client = next((name for env, name in CLIENT_ENV.items() if os.environ.get(env)), "crane")
    host = socket.gethostname()
    return Checkout(
        agent=agent or sanitize(f"{client}-{host}"),
        venture=venture,
        repo=repo,
        branch=git("rev-parse", "--abbrev-ref", "HEAD"),
        commit_sha=git("rev-parse", "HEAD"),
        client=client,
        host=host,
    )
