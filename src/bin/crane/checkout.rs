//! "This checkout": the (agent, venture, repo, track) a command acts for.
//!
//! The repo comes from git, the client from the agent's environment
//! (`CLAUDE_CLI_VERSION`, `CODEX_CLI_VERSION`, `GEMINI_CLI_VERSION`, else
//! `crane`) and the host from the machine's name. The decisions are the
//! library's ([`crane_context::identity`]): the agent is
//! [`default_agent_id`] of the client and host, the venture is chosen by the
//! server's generation (v2: its venture list, v1: the org map) from what the
//! store knows of the server ([`Knowledge`]). Every value has a flag, and a
//! value given as a flag is never detected (no git process for it).

use std::path::Path;

use crane_context::identity::{
    choose_venture, default_agent_id, ventures_for_choice, VentureQuery, VentureReason,
};
use crane_context::model::{SessionTuple, Venture};
use crane_context::settings::Settings;
use crane_context::store::Store;
use crane_context::Generation;

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
    /// Why this venture.
    pub venture_reason: VentureReason,
}

/// What is known of the server when the checkout is detected: its
/// generation and (v2) its venture list.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    /// v1 or v2; `None` when this machine never talked to it (and it is not pinned).
    pub generation: Option<Generation>,
    /// `GET /ventures` (v2): from the network whole, from the cache only
    /// what choosing reads ([`ventures_for_choice`]).
    pub ventures: Option<Vec<Venture>>,
}

impl Knowledge {
    /// What the store remembers of `base_url` (no network), the pinned
    /// generation winning.
    pub fn remembered(store: &Store, base_url: &str, pinned: Option<Generation>) -> Self {
        // One read of the server's row for both parts, and of the venture
        // list only what choosing the venture reads.
        let (generation, ventures) = store
            .server_generation_and_ventures(base_url)
            .unwrap_or_default();
        Self {
            generation: pinned.or(generation),
            ventures: ventures.and_then(|c| ventures_for_choice(&c.value).ok()),
        }
    }
}

impl Checkout {
    /// Detects what the flags do not give; `origin_cache` is the file that
    /// spares a `git` process when the checkout's config has not changed.
    pub fn detect(
        target: &TargetArgs,
        settings: &Settings,
        origin_cache: Option<&Path>,
        knowledge: &Knowledge,
    ) -> CliResult<Self> {
        let (client, client_version) = match &target.client {
            Some(c) => (c.clone(), None),
            None => detect_client(),
        };
        let host = target.host.clone().unwrap_or_else(hostname);
        let agent = match &target.agent {
            Some(a) if !a.trim().is_empty() => a.trim().to_owned(),
            Some(_) => return Err(CliError::Usage("--agent must not be empty".into())),
            None => default_agent_id(&client, &host),
        };
        let explicit = match (&target.venture, &settings.venture) {
            (Some(v), _) => Some((v.trim().to_owned(), "--venture".to_owned())),
            (None, Some(v)) => Some((v.value.clone(), v.source.to_string())),
            (None, None) => None,
        };
        let remote = match (&target.repo, &explicit) {
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
        let repo_name = repo
            .split_once('/')
            .map_or(repo.as_str(), |(_, name)| name)
            .to_owned();
        let query = VentureQuery {
            explicit: explicit.as_ref().map(|(v, s)| (v.as_str(), s.as_str())),
            owner: &owner,
            repo_name: &repo_name,
            org_map: &settings.ventures,
        };
        // A server never reached: its generation is unknown, and the v1 rule
        // (the org map) is the only one that needs nothing from it.
        let generation = knowledge.generation.unwrap_or(Generation::V1);
        let choice = choose_venture(generation, &query, knowledge.ventures.as_deref()).map_err(
            |e| match (generation, e) {
                (Generation::V1, crane_context::Error::InvalidInput { .. }) => {
                    unknown_venture(&owner, settings)
                }
                (_, e) => CliError::from(e),
            },
        )?;
        Ok(Self {
            agent,
            venture: choice.code,
            repo,
            track: target.track,
            client,
            client_version,
            host,
            venture_reason: choice.reason,
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
    // Tried in order, each only if the ones before gave nothing (reading
    // both files every time was five system calls of `crane status`).
    let candidates: [fn() -> Option<String>; 3] = [
        || std::env::var("HOSTNAME").ok(),
        || std::fs::read_to_string("/proc/sys/kernel/hostname").ok(),
        || std::fs::read_to_string("/etc/hostname").ok(),
    ];
    if let Some(h) = candidates
        .into_iter()
        .filter_map(|read| read())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_names_are_the_librarys_default() {
        assert_eq!(
            default_agent_id("Claude-Code", "Dev_Box.local"),
            "claude-code-dev-box"
        );
        assert_eq!(default_agent_id("crane", "my host!"), "crane-my-host");
    }
}
