//! Who is working where: the default agent id of a machine, and the venture
//! a checkout's session is filed under.
//!
//! Why it lives in the library: a session filed under the wrong venture is a
//! handoff the next agent never finds, so every host (the CLI, Python,
//! Swift) must decide it the same way, the way the service's own clients do.
//!
//! **Venture**, from the most explicit to the least:
//!
//! 1. named explicitly (the CLI's `--venture`, [`crate::settings::VENTURE_ENV`]);
//! 2. on a v2 server, `GET /ventures` (cached in the store, see
//!    [`crate::Crane::ventures`]): the first venture, in the server's order,
//!    whose `org` equals the remote's owner case-insensitively and whose
//!    `repos` contains the repository's name exactly — what crane-mcp's
//!    `findVentureByRepo` does. No match is an error naming the org's
//!    ventures and their repositories, never a guess;
//! 3. on a v1 server (which has no `/ventures`), the org→venture map of the
//!    settings ([`crate::settings::DEFAULT_VENTURES`] plus `[ventures]`).
//!
//! **Agent id**: `<client>-<host>`, both lower-cased, every run of
//! characters outside `[a-z0-9]` replaced by one `-`, trimmed of `-`; the
//! host is its first DNS label (`dev-box.local` → `dev-box`), `unknown` when
//! nothing is left of it, the client `crane` when nothing is left of it; the
//! client part is capped at 30 characters and the whole at 63 (then trimmed
//! of `-` again). The result always matches v2's agent pattern
//! `^[a-z0-9]+-[a-z0-9-]+$`, whatever the host name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::generation::Generation;
use crate::model::Venture;
use crate::Error;

/// The longest agent id the shared contract allows.
pub const MAX_AGENT_LEN: usize = 63;

/// The longest client part of a default agent id.
const MAX_CLIENT_PART: usize = 30;

/// Lower-case letters, digits and single dashes; nothing else, no dash at
/// either end.
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

fn capped(mut text: String, max: usize) -> String {
    text.truncate(max);
    text.trim_end_matches('-').to_owned()
}

/// The default agent id of `client` on `host` (see the module docs); it
/// always matches `^[a-z0-9]+-[a-z0-9-]+$` and is at most 63 characters.
pub fn default_agent_id(client: &str, host: &str) -> String {
    let short_host = host.split('.').next().unwrap_or(host);
    let mut client = capped(sanitize(client), MAX_CLIENT_PART);
    if client.is_empty() {
        client = "crane".into();
    }
    let mut host = sanitize(short_host);
    if host.is_empty() {
        host = "unknown".into();
    }
    capped(format!("{client}-{host}"), MAX_AGENT_LEN)
}

/// Why a venture was chosen, as `crane doctor` tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VentureReason {
    /// Named explicitly.
    Explicit {
        /// Where: `--venture`, `$CRANE_VENTURE`, ….
        source: String,
    },
    /// Matched in the server's `GET /ventures` list (v2).
    ServerList {
        /// The remote's owner.
        org: String,
        /// The repository's name, found in the venture's `repos`.
        repo_name: String,
    },
    /// The org→venture map of the settings (v1).
    OrgMap {
        /// The remote's owner.
        org: String,
    },
}

impl std::fmt::Display for VentureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Explicit { source } => write!(f, "named by {source}"),
            Self::ServerList { org, repo_name } => write!(
                f,
                "the server's venture list has org {org} with repo {repo_name}"
            ),
            Self::OrgMap { org } => write!(f, "org {org} in the org→venture map (v1 rule)"),
        }
    }
}

/// The venture of a checkout and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VentureChoice {
    /// The venture code.
    pub code: String,
    /// Why it was chosen.
    pub reason: VentureReason,
}

/// What the venture is decided from.
#[derive(Debug, Clone, Copy)]
pub struct VentureQuery<'a> {
    /// A venture named explicitly, with where it was named (`--venture`).
    pub explicit: Option<(&'a str, &'a str)>,
    /// The remote's owner (GitHub org or user).
    pub owner: &'a str,
    /// The repository's name (without owner and `.git`).
    pub repo_name: &'a str,
    /// The v1 org→venture map (lower-case org → code).
    pub org_map: &'a BTreeMap<String, String>,
}

/// Decides the venture (see the module docs). `ventures` is the server's
/// list (v2); without one on v2 the error says so. Errors are
/// [`Error::InvalidInput`] on the field `venture`.
pub fn choose_venture(
    generation: Generation,
    query: &VentureQuery<'_>,
    ventures: Option<&[Venture]>,
) -> Result<VentureChoice, Error> {
    if let Some((code, source)) = query.explicit {
        let code = code.trim();
        if code.is_empty() {
            return Err(Error::invalid_input("venture", "must not be empty"));
        }
        if let (Generation::V2, Some(list)) = (generation, ventures) {
            let known: Vec<String> = list.iter().map(|v| v.code.clone()).collect();
            crate::model::rules_v2::check_venture(code, &known)?;
        }
        return Ok(VentureChoice {
            code: code.to_owned(),
            reason: VentureReason::Explicit {
                source: source.to_owned(),
            },
        });
    }
    match generation {
        Generation::V1 => query
            .org_map
            .get(&query.owner.to_lowercase())
            .map(|code| VentureChoice {
                code: code.clone(),
                reason: VentureReason::OrgMap {
                    org: query.owner.to_owned(),
                },
            })
            .ok_or_else(|| {
                Error::invalid_input(
                    "venture",
                    format!(
                        "no venture is known for the org {:?}: name one (--venture CODE), or map \
                         the org under [ventures] in the config file",
                        query.owner
                    ),
                )
            }),
        Generation::V2 => {
            let list = ventures.ok_or_else(|| {
                Error::invalid_input(
                    "venture",
                    "the server's venture list (GET /ventures) is not known here yet and the \
                     server cannot be asked now; name the venture (--venture CODE)",
                )
            })?;
            let of_org: Vec<&Venture> = list.iter().filter(|v| v.has_org(query.owner)).collect();
            if let Some(v) = of_org
                .iter()
                .find(|v| v.lists_repo(query.owner, query.repo_name))
            {
                return Ok(VentureChoice {
                    code: v.code.clone(),
                    reason: VentureReason::ServerList {
                        org: query.owner.to_owned(),
                        repo_name: query.repo_name.to_owned(),
                    },
                });
            }
            let listed = if of_org.is_empty() {
                format!("the server lists no venture of the org {:?}", query.owner)
            } else {
                format!(
                    "the org {:?} has: {}",
                    query.owner,
                    of_org
                        .iter()
                        .map(|v| format!("{} (repos: {})", v.code, v.repos.join(", ")))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            };
            Err(Error::invalid_input(
                "venture",
                format!(
                    "no venture of the server lists the repository {}/{}: {listed}; name one \
                     (--venture CODE)",
                    query.owner, query.repo_name
                ),
            ))
        }
    }
}

/// A cached venture list (the JSON text of `GET /ventures`'s list, as the
/// store keeps it) read for [`choose_venture`]: of each venture only
/// `code`, `org` and `repos`, the fields choosing reads; `name`,
/// `capabilities` and `portfolio` are left empty. The portfolio is
/// free-form JSON, and building it into values was most of the list's
/// parse on every `crane status` (which only needs the checkout's venture).
/// A field choosing never reads is not checked either: a list whose
/// `name` is not a string is refused by the whole parse, read by this one.
pub fn ventures_for_choice(json: &str) -> Result<Vec<Venture>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Key {
        code: String,
        #[serde(default)]
        org: Option<String>,
        #[serde(default)]
        repos: Vec<String>,
    }
    let keys: Vec<Key> = serde_json::from_str(json)?;
    Ok(keys
        .into_iter()
        .map(|k| Venture {
            code: k.code,
            name: None,
            org: k.org,
            repos: k.repos,
            capabilities: Vec::new(),
            portfolio: None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn venture(code: &str, org: &str, repos: &[&str]) -> Venture {
        Venture {
            code: code.into(),
            name: None,
            org: Some(org.into()),
            repos: repos.iter().map(|r| (*r).to_owned()).collect(),
            capabilities: vec![],
            portfolio: None,
        }
    }

    fn matches_v2_pattern(a: &str) -> bool {
        crate::model::rules_v2::check_agent("agent", a).is_ok()
    }

    #[test]
    fn default_agent_ids_match_the_v2_pattern_for_every_host() {
        assert_eq!(default_agent_id("crane", "testhost"), "crane-testhost");
        assert_eq!(
            default_agent_id("claude-code", "Mac.Mini.local"),
            "claude-code-mac"
        );
        assert_eq!(default_agent_id("crane", ""), "crane-unknown");
        assert_eq!(default_agent_id("", "..."), "crane-unknown");
        assert_eq!(default_agent_id("crane", "ÜÖ_box"), "crane-box");
        assert_eq!(default_agent_id("crane", "___"), "crane-unknown");
        let long = default_agent_id(&"c".repeat(80), &"h".repeat(200));
        assert!(long.len() <= MAX_AGENT_LEN, "{long}");
        for host in [
            "",
            "-",
            "a",
            "UPPER",
            "dev box",
            "x_y-z",
            "日本",
            "--a--",
            &"ab-".repeat(40),
            "1.2.3.4",
        ] {
            for client in ["crane", "claude-code", "", "--", "Codex CLI"] {
                let id = default_agent_id(client, host);
                assert!(
                    matches_v2_pattern(&id) && id.len() <= MAX_AGENT_LEN,
                    "{client:?} on {host:?} → {id:?}"
                );
            }
        }
    }

    /// The light read keeps exactly what choosing reads, in order, and
    /// chooses as the whole list does; a list that is not one is an error.
    #[test]
    fn ventures_for_choice_keeps_what_choosing_reads() {
        let json = r#"[
            {"code":"vc","name":"Venture Crane","org":"venturecrane","repos":["crane-console","vc-web"],
             "capabilities":["has_api"],"portfolio":{"status":"internal","techStack":["D1"],"n":{"x":[1,2]}}},
            {"code":"sc","org":"VentureCrane","repos":["sc-console"],"portfolio":null},
            {"code":"xx"}
        ]"#;
        let whole: Vec<Venture> = serde_json::from_str(json).unwrap();
        let light = ventures_for_choice(json).unwrap();
        let keys = |list: &[Venture]| {
            list.iter()
                .map(|v| (v.code.clone(), v.org.clone(), v.repos.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&light), keys(&whole));
        assert!(light
            .iter()
            .all(|v| v.name.is_none() && v.portfolio.is_none()));
        for repo in ["crane-console", "sc-console", "nowhere"] {
            let query = VentureQuery {
                explicit: None,
                owner: "venturecrane",
                repo_name: repo,
                org_map: &BTreeMap::new(),
            };
            let pick = |list: &[Venture]| {
                choose_venture(Generation::V2, &query, Some(list))
                    .map(|c| c.code)
                    .map_err(|e| e.to_string())
            };
            assert_eq!(pick(&light), pick(&whole), "{repo}");
        }
        assert!(ventures_for_choice(r#"{"ventures":[]}"#).is_err());
        assert!(ventures_for_choice(r#"[{"org":"x"}]"#).is_err());
    }

    #[test]
    fn v2_picks_the_first_venture_of_the_org_listing_the_repo() {
        let list = vec![
            venture("vc", "venturecrane", &["crane-console", "crane-context"]),
            venture("ke", "venturecrane", &["ke-console"]),
            venture("xx", "other", &["ke-console"]),
        ];
        let map = BTreeMap::from([("venturecrane".to_owned(), "vc".to_owned())]);
        let q = VentureQuery {
            explicit: None,
            owner: "VentureCrane",
            repo_name: "ke-console",
            org_map: &map,
        };
        let v2 = choose_venture(Generation::V2, &q, Some(&list)).unwrap();
        assert_eq!(v2.code, "ke");
        assert!(matches!(v2.reason, VentureReason::ServerList { .. }));
        // v1 keeps the org rule.
        assert_eq!(choose_venture(Generation::V1, &q, None).unwrap().code, "vc");
        // No match: the org's ventures are listed.
        let none = VentureQuery {
            repo_name: "unknown-repo",
            ..q
        };
        let err = choose_venture(Generation::V2, &none, Some(&list))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("vc (repos: crane-console, crane-context)") && err.contains("ke"),
            "{err}"
        );
        assert!(!err.contains("xx"), "{err}");
        // Explicit beats everything, but must be a listed code on v2.
        let explicit = VentureQuery {
            explicit: Some(("smd", "--venture")),
            ..none
        };
        assert!(choose_venture(Generation::V2, &explicit, Some(&list)).is_err());
        let explicit = VentureQuery {
            explicit: Some(("ke", "--venture")),
            ..none
        };
        assert_eq!(
            choose_venture(Generation::V2, &explicit, Some(&list))
                .unwrap()
                .code,
            "ke"
        );
    }
}
