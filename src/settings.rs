//! Where a host of the SDK finds the server URL, the relay key and the
//! org→venture map.
//!
//! Why it lives in the library: the `crane` CLI, the Python agents and the
//! Swift agents on one machine must read the same configuration the same way,
//! so one file configures all of them and the safety rules hold everywhere:
//! a file holding a relay key must not be readable by other users (it is
//! refused, with the `chmod` that fixes it), and plain `http://` is accepted
//! only for loopback unless the configuration says `allow_insecure_http = true`.
//!
//! Sources, from the most explicit to the least:
//!
//! 1. explicit overrides ([`Overrides`]: the CLI's `--url`, `--key-file`,
//!    `--profile`, `--config`); a profile named explicitly beats the environment;
//! 2. the environment: [`URL_ENV`], [`KEY_ENV`], [`PROFILE_ENV`];
//! 3. the TOML file ([`CONFIG_FILE_NAME`] in the platform config directory, or
//!    the file named by [`CONFIG_ENV`]): the profile named by `CRANE_ENV`, else
//!    `default_profile`, else the only profile there is.
//!
//! ```toml
//! default_profile = "production"
//! keeper_idle_seconds = 5400   # optional: the CLI keeper's idle limit
//! rehome_abandoned = true       # optional (default true; env CRANE_REHOME)
//! protocol = "v2"               # optional: pin the generation (else detected)
//!
//! [profiles.production]
//! url = "https://crane-context.example.workers.dev"
//! key_file = "~/.config/crane/production.key"   # or: key = "…" (file must be chmod 600)
//!
//! [profiles.local]
//! url = "http://127.0.0.1:8787"
//! key = "test-relay-key-0123456789abcdef"
//!
//! [ventures]
//! myorg = "mo"          # added to venturecrane→vc, siliconcrane→sc, durganfieldguide→dfg
//! ```
//!
//! Nothing here prints or stores the key: [`RelayKey`] shows only its
//! fingerprint. Every error is [`Error::InvalidInput`] naming the setting
//! (`url`, `profile`, `config`, `key_file`, `relay_key`) and the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{parse_base_url, ClientConfig, RelayKey};
use crate::toml_errors;
use crate::Error;

/// Environment variable holding the server's base URL.
pub const URL_ENV: &str = "CRANE_CONTEXT_URL";
/// Environment variable holding the relay key itself.
pub const KEY_ENV: &str = "CRANE_CONTEXT_KEY";
/// Environment variable naming the profile of the config file to use.
pub const PROFILE_ENV: &str = "CRANE_ENV";
/// Environment variable naming the config file (instead of the platform default).
pub const CONFIG_ENV: &str = "CRANE_CONFIG";
/// Environment variable turning re-homing on (`1`/`true`/`on`/`yes`) or off
/// (`0`/`false`/`off`/`no`); beats the file's `rehome_abandoned`.
pub const REHOME_ENV: &str = "CRANE_REHOME";
/// Environment variable pinning the server's generation (`v1` or `v2`)
/// instead of detecting it (see [`crate::generation`]).
pub const PROTOCOL_ENV: &str = "CRANE_PROTOCOL";
/// Environment variable naming the venture explicitly (instead of deciding
/// it from the checkout's origin; see [`crate::identity`]).
pub const VENTURE_ENV: &str = "CRANE_VENTURE";
/// File name of the config file in the platform config directory.
pub const CONFIG_FILE_NAME: &str = "config.toml";

/// The org→venture codes known without any configuration.
pub const DEFAULT_VENTURES: &[(&str, &str)] = &[
    ("venturecrane", "vc"),
    ("siliconcrane", "sc"),
    ("durganfieldguide", "dfg"),
];

/// Explicit choices that beat the environment and the file (the CLI's flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// The server's base URL.
    pub url: Option<String>,
    /// The profile of the config file to use.
    pub profile: Option<String>,
    /// A file holding the relay key (must be private to its owner).
    pub key_file: Option<PathBuf>,
    /// The config file to read instead of the default one.
    pub config_file: Option<PathBuf>,
    /// The server's generation (`v1`/`v2`), pinned.
    pub protocol: Option<String>,
}

/// Where a resolved value came from, so a doctor command can say it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// An explicit override (a command-line flag such as `--url`).
    Override {
        /// The override's name, e.g. `--url`.
        name: String,
    },
    /// An environment variable.
    Env {
        /// The variable, e.g. `CRANE_CONTEXT_URL`.
        name: String,
    },
    /// A profile of the config file.
    Profile {
        /// The config file.
        path: PathBuf,
        /// The profile.
        profile: String,
    },
    /// A key file (named by `--key-file` or a profile's `key_file`).
    KeyFile {
        /// The key file.
        path: PathBuf,
    },
    /// The config file's top level (e.g. `default_profile`).
    ConfigFile {
        /// The config file.
        path: PathBuf,
    },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Override { name } => write!(f, "{name}"),
            Self::Env { name } => write!(f, "${name}"),
            Self::Profile { path, profile } => {
                write!(f, "profile {profile:?} in {}", path.display())
            }
            Self::KeyFile { path } => write!(f, "key file {}", path.display()),
            Self::ConfigFile { path } => write!(f, "{}", path.display()),
        }
    }
}

/// A value with the place it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

/// The resolved configuration of one host process.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The server's base URL (already checked against the http rule).
    pub url: Option<Sourced<Url>>,
    /// The relay key (prints as its fingerprint only).
    pub key: Option<Sourced<RelayKey>>,
    /// The profile in use, if any.
    pub profile: Option<Sourced<String>>,
    /// Whether plain `http://` to non-loopback hosts is allowed.
    pub allow_insecure_http: bool,
    /// The config file consulted (it may not exist).
    pub config_path: Option<PathBuf>,
    /// Whether that file exists and was read.
    pub config_loaded: bool,
    /// Org (lowercase) → venture code (the v1 rule).
    pub ventures: BTreeMap<String, String>,
    /// The server's generation, when pinned (`--protocol`, [`PROTOCOL_ENV`],
    /// `protocol` in the file's profile or top level); `None`: detected.
    pub protocol: Option<Sourced<crate::generation::Generation>>,
    /// The venture named explicitly ([`VENTURE_ENV`]; the CLI's `--venture`
    /// beats it), instead of deciding it from the checkout.
    pub venture: Option<Sourced<String>>,
    /// The config file's `keeper_idle_seconds`: how long the CLI's keeper
    /// waits without activity before it leaves (`None`: the default,
    /// [`crate::policy::KEEPER_IDLE_LIMIT`]).
    pub keeper_idle_limit: Option<std::time::Duration>,
    /// Whether a queued handoff whose session ended or was abandoned without
    /// it is re-homed (delivered in a new session of its tuple) rather than
    /// dead: [`REHOME_ENV`], else the file's `rehome_abandoned`, else `true`.
    pub rehome_abandoned: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    default_profile: Option<String>,
    #[serde(default)]
    allow_insecure_http: Option<bool>,
    #[serde(default)]
    profiles: BTreeMap<String, FileProfile>,
    #[serde(default)]
    ventures: BTreeMap<String, String>,
    #[serde(default)]
    keeper_idle_seconds: Option<u64>,
    #[serde(default)]
    rehome_abandoned: Option<bool>,
    #[serde(default)]
    protocol: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileProfile {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    key_file: Option<PathBuf>,
    #[serde(default)]
    allow_insecure_http: Option<bool>,
    #[serde(default)]
    protocol: Option<String>,
}

impl Settings {
    /// Resolves the settings from the overrides, the process environment and
    /// the config file.
    pub fn resolve(overrides: &Overrides) -> Result<Self, Error> {
        Self::resolve_with(overrides, &|name| {
            std::env::var(name).ok().filter(|v| !v.trim().is_empty())
        })
    }

    /// Like [`Settings::resolve`] with an explicit environment (`env(name)`
    /// returns a variable's value), for tests and embedding hosts.
    pub fn resolve_with(
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let (config_path, explicit_config) = match (&overrides.config_file, env(CONFIG_ENV)) {
            (Some(p), _) => (Some(p.clone()), Some("--config".to_owned())),
            (None, Some(p)) => (Some(PathBuf::from(p)), Some(format!("${CONFIG_ENV}"))),
            (None, None) => (default_config_path(), None),
        };
        let file = match &config_path {
            Some(path) => load_file(path, explicit_config.as_deref())?,
            None => None,
        };
        let config_loaded = file.is_some();
        let file = file.unwrap_or_default();

        let profile = select_profile(overrides, env, &file, config_path.as_deref())?;
        let chosen = profile
            .as_ref()
            .and_then(|p| file.profiles.get(&p.value).map(|fp| (p, fp)));
        let profile_is_explicit = matches!(
            profile.as_ref().map(|p| &p.source),
            Some(Source::Override { .. })
        );
        let profile_source = |name: &str| Source::Profile {
            path: config_path.clone().unwrap_or_default(),
            profile: name.to_owned(),
        };

        let allow_insecure_http = chosen
            .and_then(|(_, fp)| fp.allow_insecure_http)
            .or(file.allow_insecure_http)
            .unwrap_or(false);

        // URL: override > explicitly chosen profile > env > profile.
        let file_url =
            chosen.and_then(|(p, fp)| fp.url.clone().map(|u| (u, profile_source(&p.value))));
        let env_url = env(URL_ENV).map(|u| {
            (
                u,
                Source::Env {
                    name: URL_ENV.into(),
                },
            )
        });
        let flag_url = overrides.url.clone().map(|u| {
            (
                u,
                Source::Override {
                    name: "--url".into(),
                },
            )
        });
        let url_text = if profile_is_explicit {
            flag_url.or(file_url).or(env_url)
        } else {
            flag_url.or(env_url).or(file_url)
        };
        let url = match url_text {
            Some((text, source)) => {
                let value = parse_base_url(&text, allow_insecure_http).map_err(|e| match e {
                    Error::InvalidInput { message, .. } => Error::invalid_input(
                        "url",
                        format!("{message} (from {source}; set allow_insecure_http = true in the config to allow it)"),
                    ),
                    other => other,
                })?;
                Some(Sourced { value, source })
            }
            None => None,
        };

        // Key: --key-file > explicitly chosen profile > env > profile.
        let flag_key = match &overrides.key_file {
            Some(path) => Some(read_key_file(path, "--key-file")?),
            None => None,
        };
        let file_key = match chosen {
            Some((p, fp)) => profile_key(fp, &p.value, config_path.as_deref())?,
            None => None,
        };
        let env_key = match env(KEY_ENV) {
            Some(k) => Some(Sourced {
                value: RelayKey::new(k).map_err(|e| rename_field(e, "relay_key", KEY_ENV))?,
                source: Source::Env {
                    name: KEY_ENV.into(),
                },
            }),
            None => None,
        };
        let key = if profile_is_explicit {
            flag_key.or(file_key).or(env_key)
        } else {
            flag_key.or(env_key).or(file_key)
        };

        let mut ventures: BTreeMap<String, String> = DEFAULT_VENTURES
            .iter()
            .map(|(org, code)| ((*org).to_owned(), (*code).to_owned()))
            .collect();
        let keeper_idle_limit = file.keeper_idle_seconds.map(std::time::Duration::from_secs);
        let rehome_abandoned = match env(REHOME_ENV) {
            Some(v) => parse_switch(&v).ok_or_else(|| {
                Error::invalid_input(
                    "rehome_abandoned",
                    format!("${REHOME_ENV} must be 1/true/on/yes or 0/false/off/no"),
                )
            })?,
            None => file.rehome_abandoned.unwrap_or(true),
        };
        for (org, code) in file.ventures {
            ventures.insert(org.to_lowercase(), code);
        }

        // Protocol: override > env > profile > top level.
        let protocol_text = overrides
            .protocol
            .clone()
            .map(|p| {
                (
                    p,
                    Source::Override {
                        name: "--protocol".into(),
                    },
                )
            })
            .or_else(|| {
                env(PROTOCOL_ENV).map(|p| {
                    (
                        p,
                        Source::Env {
                            name: PROTOCOL_ENV.into(),
                        },
                    )
                })
            })
            .or_else(|| {
                chosen
                    .and_then(|(p, fp)| fp.protocol.clone().map(|v| (v, profile_source(&p.value))))
            })
            .or_else(|| {
                file.protocol.clone().map(|v| {
                    (
                        v,
                        Source::ConfigFile {
                            path: config_path.clone().unwrap_or_default(),
                        },
                    )
                })
            });
        let protocol = match protocol_text {
            Some((text, source)) => Some(Sourced {
                value: text.parse().map_err(|e: Error| match e {
                    Error::InvalidInput { message, .. } => {
                        Error::invalid_input("protocol", format!("{message} (from {source})"))
                    }
                    other => other,
                })?,
                source,
            }),
            None => None,
        };
        let venture = env(VENTURE_ENV).map(|v| Sourced {
            value: v.trim().to_owned(),
            source: Source::Env {
                name: VENTURE_ENV.into(),
            },
        });

        Ok(Self {
            url,
            key,
            profile,
            allow_insecure_http,
            config_path,
            config_loaded,
            ventures,
            keeper_idle_limit,
            rehome_abandoned,
            protocol,
            venture,
        })
    }

    /// The venture code of a GitHub org (case-insensitive), if mapped.
    pub fn venture_for_org(&self, org: &str) -> Option<&str> {
        self.ventures.get(&org.to_lowercase()).map(String::as_str)
    }

    /// A client configuration with default timeouts and retries. Fails with
    /// [`Error::InvalidInput`] (`url` or `relay_key`) saying how to configure
    /// what is missing.
    pub fn client_config(&self) -> Result<ClientConfig, Error> {
        let where_ = match &self.config_path {
            Some(p) => format!(" or add a profile to {}", p.display()),
            None => String::new(),
        };
        let url = self.url.as_ref().ok_or_else(|| {
            Error::invalid_input(
                "url",
                format!("no server URL configured: set {URL_ENV}, pass --url{where_}"),
            )
        })?;
        let key = self.key.as_ref().ok_or_else(|| {
            Error::invalid_input(
                "relay_key",
                format!("no relay key configured: set {KEY_ENV}, pass --key-file{where_}"),
            )
        })?;
        // The http rule was applied (with `allow_insecure_http`) at resolve time.
        let mut config = ClientConfig::new_allow_insecure(url.value.as_str(), key.value.clone())?;
        config.protocol = self.protocol.as_ref().map(|p| p.value);
        Ok(config)
    }
}

/// An on/off environment value, case-insensitive; `None` if it is neither.
fn parse_switch(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Some(true),
        "0" | "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// The config file read when neither an override nor [`CONFIG_ENV`] names
/// one: `config.toml` in the platform config directory (e.g.
/// `~/.config/crane/config.toml` on Linux).
pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("dev", "venturecrane", "crane")
        .map(|d| d.config_dir().join(CONFIG_FILE_NAME))
}

fn rename_field(e: Error, field: &str, origin: &str) -> Error {
    match e {
        Error::InvalidInput { message, .. } => {
            Error::invalid_input(field, format!("{message} (from {origin})"))
        }
        other => other,
    }
}

/// Parses a config file's text; `path` only names it in errors. The parser's
/// own text quotes the offending line, which may hold the key, so the error
/// is described by position instead (`toml_errors.rs`).
fn parse_file_text(path: &Path, text: &str) -> Result<FileConfig, Error> {
    toml::from_str(text)
        .map_err(|e| Error::invalid_input("config", toml_errors::describe(path, text, &e)))
}

/// Parses config-file text and drops the result (the fuzz target's entry).
#[cfg(feature = "fuzzing")]
pub(crate) fn check_file_text(text: &str) -> Result<(), Error> {
    parse_file_text(Path::new("fuzz.toml"), text).map(|_| ())
}

/// Reads and parses the config file. A missing default file is no config; a
/// missing file named explicitly is an error.
fn load_file(path: &Path, explicit: Option<&str>) -> Result<Option<FileConfig>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => {
            return Ok(None)
        }
        Err(e) => {
            let by = explicit
                .map(|n| format!(" (named by {n})"))
                .unwrap_or_default();
            return Err(Error::invalid_input(
                "config",
                format!("cannot read config file {}{by}: {e}", path.display()),
            ));
        }
    };
    let config = parse_file_text(path, &text)?;
    if config.keeper_idle_seconds == Some(0) {
        return Err(Error::invalid_input(
            "config",
            format!(
                "keeper_idle_seconds in {} must be at least 1",
                path.display()
            ),
        ));
    }
    if config.profiles.values().any(|p| p.key.is_some()) {
        check_private(path, "config")?;
    }
    for (name, p) in &config.profiles {
        if p.key.is_some() && p.key_file.is_some() {
            return Err(Error::invalid_input(
                "config",
                format!(
                    "profile {name:?} in {} sets both key and key_file; keep one",
                    path.display()
                ),
            ));
        }
    }
    Ok(Some(config))
}

fn select_profile(
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    file: &FileConfig,
    config_path: Option<&Path>,
) -> Result<Option<Sourced<String>>, Error> {
    let path = config_path.map(Path::to_path_buf).unwrap_or_default();
    let named = overrides
        .profile
        .clone()
        .map(|p| {
            (
                p,
                Source::Override {
                    name: "--profile".into(),
                },
            )
        })
        .or_else(|| {
            env(PROFILE_ENV).map(|p| {
                (
                    p,
                    Source::Env {
                        name: PROFILE_ENV.into(),
                    },
                )
            })
        })
        .or_else(|| {
            file.default_profile
                .clone()
                .map(|p| (p, Source::ConfigFile { path: path.clone() }))
        });
    match named {
        Some((name, source)) => {
            if file.profiles.contains_key(&name) {
                return Ok(Some(Sourced {
                    value: name,
                    source,
                }));
            }
            let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
            let there = if known.is_empty() {
                "it defines no profiles".to_owned()
            } else {
                format!("its profiles are: {}", known.join(", "))
            };
            Err(Error::invalid_input(
                "profile",
                format!(
                    "profile {name:?} (from {source}) is not in the config file {}; {there}",
                    path.display()
                ),
            ))
        }
        None if file.profiles.len() == 1 => Ok(file.profiles.keys().next().map(|name| Sourced {
            value: name.clone(),
            source: Source::ConfigFile { path },
        })),
        None => Ok(None),
    }
}

fn profile_key(
    fp: &FileProfile,
    name: &str,
    config_path: Option<&Path>,
) -> Result<Option<Sourced<RelayKey>>, Error> {
    let path = config_path.map(Path::to_path_buf).unwrap_or_default();
    if let Some(k) = &fp.key {
        let origin = format!("profile {name:?} in {}", path.display());
        return Ok(Some(Sourced {
            value: RelayKey::new(k.clone()).map_err(|e| rename_field(e, "relay_key", &origin))?,
            source: Source::Profile {
                path,
                profile: name.to_owned(),
            },
        }));
    }
    match &fp.key_file {
        Some(kf) => {
            let base = path.parent().unwrap_or_else(|| Path::new("."));
            let resolved = expand_path(kf, base);
            let origin = format!("key_file of profile {name:?} in {}", path.display());
            read_key_file(&resolved, &origin).map(Some)
        }
        None => Ok(None),
    }
}

/// `~/…` is the home directory; a relative path is relative to `base` (the
/// config file's directory).
fn expand_path(p: &Path, base: &Path) -> PathBuf {
    if let Ok(rest) = p.strip_prefix("~") {
        if let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()) {
            return home.join(rest);
        }
    }
    if p.is_relative() {
        base.join(p)
    } else {
        p.to_path_buf()
    }
}

fn read_key_file(path: &Path, origin: &str) -> Result<Sourced<RelayKey>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::invalid_input(
            "key_file",
            format!(
                "cannot read key file {} (from {origin}): {e}",
                path.display()
            ),
        )
    })?;
    check_private(path, "key_file")?;
    let key = RelayKey::new(text).map_err(|e| match e {
        Error::InvalidInput { message, .. } => Error::invalid_input(
            "key_file",
            format!(
                "key file {} (from {origin}): the key {message}",
                path.display()
            ),
        ),
        other => other,
    })?;
    Ok(Sourced {
        value: key,
        source: Source::KeyFile {
            path: path.to_path_buf(),
        },
    })
}

/// Refuses a file holding a key that users other than its owner can read or write.
fn check_private(path: &Path, field: &str) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| {
            Error::invalid_input(field, format!("cannot inspect {}: {e}", path.display()))
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::invalid_input(
                field,
                format!(
                    "{} holds a relay key but is accessible to other users (mode {mode:03o}); \
                     refusing to use it. Fix: chmod 600 {}",
                    path.display(),
                    path.display()
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (path, field);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "test-relay-key-0123456789abcdef";

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn private_file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        path
    }

    fn with_config(path: &Path) -> Overrides {
        Overrides {
            config_file: Some(path.to_path_buf()),
            ..Overrides::default()
        }
    }

    const TWO_PROFILES: &str = r#"
default_profile = "production"
[profiles.production]
url = "https://prod.example"
key = "prod-key-0123456789abcdef"
[profiles.local]
url = "http://127.0.0.1:8787"
key = "local-key-0123456789abcdef"
[ventures]
MyOrg = "mo"
"#;

    #[test]
    fn keeper_idle_seconds_comes_from_the_file_and_zero_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_of(&[(URL_ENV, "http://127.0.0.1:9"), (KEY_ENV, KEY)]);
        let none = private_file(dir.path(), "none.toml", "");
        let s = Settings::resolve_with(&with_config(&none), &env).unwrap();
        assert_eq!(s.keeper_idle_limit, None);
        let set = private_file(dir.path(), "set.toml", "keeper_idle_seconds = 600\n");
        let s = Settings::resolve_with(&with_config(&set), &env).unwrap();
        assert_eq!(
            s.keeper_idle_limit,
            Some(std::time::Duration::from_secs(600))
        );
        let zero = private_file(dir.path(), "zero.toml", "keeper_idle_seconds = 0\n");
        let err = Settings::resolve_with(&with_config(&zero), &env).unwrap_err();
        assert!(err.to_string().contains("keeper_idle_seconds"), "{err}");
    }

    #[test]
    fn rehome_is_on_by_default_and_the_env_beats_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let none = private_file(dir.path(), "none.toml", "");
        let off = private_file(dir.path(), "off.toml", "rehome_abandoned = false\n");
        let resolve = |file: &Path, vars: &[(&str, &str)]| {
            Settings::resolve_with(&with_config(file), &env_of(vars))
        };
        assert!(resolve(&none, &[]).unwrap().rehome_abandoned);
        assert!(!resolve(&off, &[]).unwrap().rehome_abandoned);
        assert!(
            resolve(&off, &[(REHOME_ENV, "ON")])
                .unwrap()
                .rehome_abandoned
        );
        assert!(
            !resolve(&none, &[(REHOME_ENV, "0")])
                .unwrap()
                .rehome_abandoned
        );
        let err = resolve(&off, &[(REHOME_ENV, "maybe")]).unwrap_err();
        assert!(err.to_string().contains(REHOME_ENV), "{err}");
    }

    #[test]
    fn env_alone_is_enough_and_defaults_map_ventures() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.toml");
        let empty = private_file(dir.path(), "empty.toml", "");
        let empty = empty.to_str().unwrap();
        let env = env_of(&[
            (URL_ENV, "http://127.0.0.1:9"),
            (KEY_ENV, KEY),
            (CONFIG_ENV, empty),
        ]);
        let s = Settings::resolve_with(&Overrides::default(), &env).unwrap();
        assert_eq!(
            s.url.as_ref().unwrap().value.as_str(),
            "http://127.0.0.1:9/"
        );
        assert_eq!(
            s.key.as_ref().unwrap().value.actor_key_id(),
            "3ebd13c0000708e1"
        );
        assert_eq!(s.venture_for_org("VentureCrane"), Some("vc"));
        assert_eq!(s.venture_for_org("durganfieldguide"), Some("dfg"));
        assert!(s.client_config().is_ok());
        // A config file named explicitly must exist.
        let err = Settings::resolve_with(&with_config(&missing), &env).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field, .. } if field == "config"),
            "{err}"
        );
    }

    #[test]
    fn precedence_flags_then_env_then_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = private_file(dir.path(), "config.toml", TWO_PROFILES);
        let keyf = private_file(dir.path(), "flag.key", "flag-key-0123456789abcdef\n");

        // File only: default_profile.
        let s = Settings::resolve_with(&with_config(&cfg), &env_of(&[])).unwrap();
        assert_eq!(
            s.url.as_ref().unwrap().value.as_str(),
            "https://prod.example/"
        );
        assert_eq!(s.profile.as_ref().unwrap().value, "production");
        assert_eq!(s.venture_for_org("myorg"), Some("mo"));
        assert_eq!(s.venture_for_org("venturecrane"), Some("vc"));

        // CRANE_ENV picks the profile; env URL/key beat the file's profile.
        let env = env_of(&[(PROFILE_ENV, "local"), (URL_ENV, "https://env.example")]);
        let s = Settings::resolve_with(&with_config(&cfg), &env).unwrap();
        assert_eq!(s.profile.as_ref().unwrap().value, "local");
        assert_eq!(
            s.url.as_ref().unwrap().value.as_str(),
            "https://env.example/"
        );
        assert_eq!(
            s.key.as_ref().unwrap().value,
            RelayKey::new("local-key-0123456789abcdef").unwrap()
        );

        // An explicit --profile beats the environment's URL and key.
        let env = env_of(&[(URL_ENV, "https://env.example"), (KEY_ENV, KEY)]);
        let mut o = with_config(&cfg);
        o.profile = Some("local".into());
        let s = Settings::resolve_with(&o, &env).unwrap();
        assert_eq!(
            s.url.as_ref().unwrap().value.as_str(),
            "http://127.0.0.1:8787/"
        );
        assert!(matches!(
            s.key.as_ref().unwrap().source,
            Source::Profile { .. }
        ));

        // --url and --key-file beat everything.
        o.url = Some("https://flag.example".into());
        o.key_file = Some(keyf.clone());
        let s = Settings::resolve_with(&o, &env).unwrap();
        assert_eq!(
            s.url.as_ref().unwrap().value.as_str(),
            "https://flag.example/"
        );
        assert_eq!(
            s.key.as_ref().unwrap().source,
            Source::KeyFile { path: keyf }
        );

        // An unknown profile is named in the error with the known ones.
        o.profile = Some("staging".into());
        let err = Settings::resolve_with(&o, &env).unwrap_err().to_string();
        assert!(
            err.contains("staging") && err.contains("local, production"),
            "{err}"
        );
    }

    #[test]
    fn key_file_relative_to_config_and_single_profile_default() {
        let dir = tempfile::tempdir().unwrap();
        private_file(dir.path(), "prod.key", KEY);
        let cfg = private_file(
            dir.path(),
            "c.toml",
            "[profiles.only]\nurl = \"https://x.example\"\nkey_file = \"prod.key\"\n",
        );
        let s = Settings::resolve_with(&with_config(&cfg), &env_of(&[])).unwrap();
        assert_eq!(s.profile.as_ref().unwrap().value, "only");
        assert_eq!(
            s.key.as_ref().unwrap().value.actor_key_id(),
            "3ebd13c0000708e1"
        );
    }

    #[cfg(unix)]
    #[test]
    fn readable_key_files_are_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let cfg = private_file(dir.path(), "config.toml", TWO_PROFILES);
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Settings::resolve_with(&with_config(&cfg), &env_of(&[])).unwrap_err();
        let text = err.to_string();
        assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "config"));
        assert!(
            text.contains(&format!("chmod 600 {}", cfg.display())),
            "{text}"
        );

        // A config without keys may be world-readable.
        let open = dir.path().join("open.toml");
        std::fs::write(&open, "[profiles.p]\nurl = \"https://x.example\"\n").unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Settings::resolve_with(&with_config(&open), &env_of(&[])).is_ok());

        // A group-readable key file is refused too.
        let keyf = private_file(dir.path(), "k", KEY);
        std::fs::set_permissions(&keyf, std::fs::Permissions::from_mode(0o640)).unwrap();
        let o = Overrides {
            key_file: Some(keyf.clone()),
            config_file: Some(open),
            ..Overrides::default()
        };
        let err = Settings::resolve_with(&o, &env_of(&[])).unwrap_err();
        assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "key_file"));
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn bad_toml_and_unknown_fields_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        for text in [
            "default_profile = ",
            "[profiles.p]\nurll = \"https://x\"\n",
            "key = 1",
        ] {
            let cfg = private_file(dir.path(), "bad.toml", text);
            let err = Settings::resolve_with(&with_config(&cfg), &env_of(&[])).unwrap_err();
            assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "config"));
            assert!(
                err.to_string().contains(&cfg.display().to_string()),
                "{err}"
            );
        }
        let both = private_file(
            dir.path(),
            "both.toml",
            "[profiles.p]\nkey = \"abc\"\nkey_file = \"k\"\n",
        );
        assert!(Settings::resolve_with(&with_config(&both), &env_of(&[])).is_err());
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_of(&[(URL_ENV, "http://crane.example"), (KEY_ENV, KEY)]);
        let cfg = private_file(dir.path(), "empty.toml", "");
        let err = Settings::resolve_with(&with_config(&cfg), &env).unwrap_err();
        assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "url"));
        assert!(err.to_string().contains("allow_insecure_http"), "{err}");
        let allow = private_file(dir.path(), "allow.toml", "allow_insecure_http = true\n");
        let s = Settings::resolve_with(&with_config(&allow), &env).unwrap();
        assert_eq!(
            s.client_config().unwrap().base_url.as_str(),
            "http://crane.example/"
        );
    }

    #[test]
    fn missing_url_or_key_says_how_to_configure() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = private_file(dir.path(), "empty.toml", "");
        let s = Settings::resolve_with(&with_config(&cfg), &env_of(&[])).unwrap();
        let err = s.client_config().unwrap_err();
        assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "url"));
        assert!(err.to_string().contains(URL_ENV), "{err}");
        let s = Settings::resolve_with(
            &with_config(&cfg),
            &env_of(&[(URL_ENV, "https://x.example")]),
        )
        .unwrap();
        let err = s.client_config().unwrap_err();
        assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "relay_key"));
        let dbg = format!("{s:?}");
        assert!(!dbg.contains(KEY));
    }
}
