//! What every command shares: the global flags, the output channel, the
//! resolved settings and where the local store lives.
//!
//! Settings are resolved on first use only, so commands that need no server
//! (`queue list`, `completions`) never read the config file, and commands
//! that need no git never run it.

use std::cell::OnceCell;
use std::path::PathBuf;

use crane_context::settings::{Overrides, Settings};
use crane_context::store::{QueueLimits, Store, DB_FILE_NAME};
use crane_context::ClientConfig;

use crate::args::Global;
use crate::error::{CliError, CliResult};
use crate::output::Output;

/// The shared state of one invocation.
#[derive(Debug)]
pub struct Ctx {
    /// The global flags.
    pub global: Global,
    /// Where results and errors go.
    pub out: Output,
    settings: OnceCell<Settings>,
}

impl Ctx {
    /// A context for the given global flags.
    pub fn new(global: Global) -> Self {
        let out = Output::new(global.json);
        Self {
            global,
            out,
            settings: OnceCell::new(),
        }
    }

    /// The explicit overrides the flags make.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            url: self.global.url.clone(),
            profile: self.global.profile.clone(),
            key_file: self.global.key_file.clone(),
            config_file: self.global.config.clone(),
            protocol: self.global.protocol.clone(),
        }
    }

    /// The resolved settings (resolved once).
    pub fn settings(&self) -> CliResult<&Settings> {
        if let Some(s) = self.settings.get() {
            return Ok(s);
        }
        let s = Settings::resolve(&self.overrides())?;
        Ok(self.settings.get_or_init(|| s))
    }

    /// The client configuration; a usage error when the URL or key is missing.
    pub fn client_config(&self) -> CliResult<ClientConfig> {
        Ok(self.settings()?.client_config()?)
    }

    /// The store file: `--home`/crane.db, else the library's default
    /// (`$CRANE_HOME/crane.db` or the platform data directory).
    pub fn store_path(&self) -> CliResult<PathBuf> {
        match &self.global.home {
            Some(home) => {
                let abs = std::path::absolute(home)
                    .map_err(|e| CliError::Usage(format!("--home {}: {e}", home.display())))?;
                Ok(abs.join(DB_FILE_NAME))
            }
            None => Ok(Store::default_path()?),
        }
    }

    /// The directory holding the store, the docs and the CLI's small state files.
    pub fn data_dir(&self) -> CliResult<PathBuf> {
        let path = self.store_path()?;
        Ok(path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".")))
    }

    /// The file caching each checkout's `origin` remote (see `origin_cache.rs`).
    pub fn origin_cache(&self) -> Option<PathBuf> {
        self.data_dir().ok().map(|d| d.join("origin-cache.json"))
    }

    /// What the store remembers of the configured server (generation,
    /// venture list), for deciding this checkout's venture without the
    /// network; empty when nothing is configured or remembered.
    pub fn knowledge(&self) -> crate::checkout::Knowledge {
        match self.open_store() {
            Ok(store) => self.knowledge_in(&store),
            Err(_) => Default::default(),
        }
    }

    /// [`Ctx::knowledge`] from a store the command already has open (no
    /// second open of the file on the command's path).
    pub fn knowledge_in(&self, store: &Store) -> crate::checkout::Knowledge {
        let Ok(settings) = self.settings() else {
            return Default::default();
        };
        match settings.client_config() {
            Ok(config) => crate::checkout::Knowledge::remembered(
                store,
                config.base_url.as_str(),
                config.protocol,
            ),
            Err(_) => Default::default(),
        }
    }

    /// Opens the local store directly (no engine, no network).
    pub fn open_store(&self) -> CliResult<Store> {
        Ok(Store::open(&self.store_path()?, QueueLimits::default())?)
    }

    /// Opens the local store for a command that only reads it
    /// ([`Store::open_read_only`]: no open marker, writes refused).
    pub fn open_store_read_only(&self) -> CliResult<Store> {
        Ok(Store::open_read_only(
            &self.store_path()?,
            QueueLimits::default(),
        )?)
    }
}
