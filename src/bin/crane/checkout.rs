//! "This checkout": the (agent, venture, repo, track) a command acts for.
//!
//! The repo comes from git, the venture from the org→venture map of the
//! settings, the agent from `<client>-<host>` sanitized to lowercase letters,
//! digits and dashes, the client from the agent's environment
//! (`CLAUDE_CLI_VERSION`, `CODEX_CLI_VERSION`, `GEMINI_CLI_VERSION`, else
//! `crane`) and the host from the machine's name. Every value has a flag, and
//! a value given as a flag is never detected (no git process for it).

use std::path::Path;

use crane_context::model::SessionTuple;
use crane_context::settings::Settings;

use crate::args::TargetArgs;
use crate::error::{CliError, CliResult};
use crate::git;

/// Agent environments recognised, as (variable holding its version, client name).
const CLIENT_ENVS: &[(&str, &str)] = &[
    ("CLAUDE_CLI_VERSION", "claude-code"),
    ("CODEX_CLI_VERSION", "codex"),
    ("GEMINI_CLI_VERSION", "gemini-cli"),
];

/// Client name when no agent environment is recognised.
const DEFAULT_CLIENT: &str = "crane";

/// The identity of this checkout's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// Agent name.
    pub agent: String,
    /// Venture code.
    pub venture: String,
    /// Repository `owner/name`.
    pub repo: String,
    /// Track.
    pub track: Option<i64>,
    /// Client program name.
    pub client: String,
    /// Client program version, when known.
    pub client_version: Option<String>,
    /// Host name.
    pub host: String,
}

impl Checkout {
    /// Detects what the flags do not give; `origin_cache` is the file that
    /// spares a `git` process when the checkout's config has not changed.
    pub fn detect(
        target: &TargetArgs,
        settings: &Settings,
        origin_cache: Option<&Path>,
    ) -> CliResult<Self> {
        let (client, client_version) = match &target.client {
            Some(c) => (c.clone(), None),
            None => detect_client(),
        };
        let host = target.host.clone().unwrap_or_else(hostname);
        let agent = match &target.agent {
            Some(a) if !a.trim().is_empty() => a.trim().to_owned(),
            Some(_) => return Err(CliError::Usage("--agent must not be empty".into())),
            None => {
                let agent = sanitize(&format!("{client}-{}", short_host(&host)));
                if agent.is_empty() {
                    return Err(CliError::Usage(
                        "cannot derive an agent name from the client and host; pass --agent".into(),
                    ));
                }
                agent
            }
        };
        let remote = match (&target.repo, &target.venture) {
            (Some(_), Some(_)) => None,
            _ => git::origin(origin_cache),
        };
        let repo = match (&target.repo, &remote) {
            (Some(r), _) => r.trim().to_owned(),
            (None, Some(remote)) => remote.slug.clone(),
            (None, None) => {
                return Err(CliError::Usage(
                    "cannot tell the repository: this is not a git checkout with an `origin` \
                     remote; pass --repo owner/name"
                        .into(),
                ))
            }
        };
        let owner = remote
            .as_ref()
            .map(|r| r.owner.clone())
            .or_else(|| repo.split('/').next().map(str::to_owned))
            .unwrap_or_default();
        let venture = match &target.venture {
            Some(v) => v.trim().to_owned(),
            None => settings
                .venture_for_org(&owner)
                .map(str::to_owned)
                .ok_or_else(|| unknown_venture(&owner, settings))?,
        };
        Ok(Self {
            agent,
            venture,
            repo,
            track: target.track,
            client,
            client_version,
            host,
        })
    }

    /// The session tuple.
    pub fn tuple(&self) -> SessionTuple {
        SessionTuple {
            agent: self.agent.clone(),
            venture: self.venture.clone(),
            repo: self.repo.clone(),
            track: self.track,
        }
    }
}

fn unknown_venture(owner: &str, settings: &Settings) -> CliError {
    let file = settings
        .config_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "the config file".into());
    CliError::Usage(format!(
        "no venture is known for the org {owner:?}: pass --venture CODE, or add \
         `{} = \"CODE\"` under [ventures] in {file}",
        owner.to_lowercase()
    ))
}

/// The client name and version from the agent's environment.
fn detect_client() -> (String, Option<String>) {
    for (var, name) in CLIENT_ENVS {
        if let Ok(v) = std::env::var(var) {
            if !v.trim().is_empty() {
                return ((*name).to_owned(), Some(v.trim().to_owned()));
            }
        }
    }
    (
        DEFAULT_CLIENT.to_owned(),
        Some(env!("CARGO_PKG_VERSION").to_owned()),
    )
}

/// This machine's host name, without running a process where the OS tells it.
pub fn hostname() -> String {
    let candidates = [
        std::env::var("HOSTNAME").ok(),
        std::fs::read_to_string("/proc/sys/kernel/hostname").ok(),
        std::fs::read_to_string("/etc/hostname").ok(),
    ];
    if let Some(h) = candidates
        .into_iter()
        .flatten()
        .map(|h| h.trim().to_owned())
        .find(|h| !h.is_empty())
    {
        return h;
    }
    std::process::Command::new("hostname")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The first label of a host name (`dev-box.local` → `dev-box`).
fn short_host(host: &str) -> &str {
    host.split('.').next().unwrap_or(host)
}

/// Lowercase letters, digits and single dashes; nothing else.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_names_are_sanitized() {
        assert_eq!(sanitize("Claude-Code-Dev_Box"), "claude-code-dev-box");
        assert_eq!(sanitize("crane--my host!"), "crane-my-host");
        assert_eq!(sanitize("--Ünïcode--"), "n-code");
        assert_eq!(short_host("dev-box.local"), "dev-box");
    }
}
