//! What the SDK learnt about each server (by base URL): its generation with
//! the `GET /version` answer, and the `GET /ventures` list.
//!
//! Both are caches, replaceable from the server at any time; they exist so
//! a CLI command neither probes `/version` nor fetches `/ventures` on every
//! run, and so the venture of a checkout can still be decided offline.
//! Writes commit without waiting for the disk, like the rest of the cache.
//! A row that cannot be read back (written by a newer SDK, or damaged) is
//! treated as absent: the next probe or fetch replaces it.

use rusqlite::{params, OptionalExtension};

use super::{Cached, Store, StoreError};
use crate::generation::{
    Generation, GenerationInfo, GenerationMemory, GenerationSource, ServerVersion,
};

/// Everything remembered of one server (one row, read by one statement:
/// `crane status` and the commands that detect a checkout need both parts).
#[derive(Debug, Clone, Default)]
pub struct ServerMemory {
    /// The generation remembered for it, with what `/version` said.
    pub generation: Option<GenerationInfo>,
    /// Its `GET /ventures` list (the server's JSON text) and when it was fetched.
    pub ventures: Option<Cached<String>>,
}

/// A row's generation and when it was detected; `None` unless both are
/// there and the generation is one this SDK knows.
fn remembered_generation(
    generation: Option<&str>,
    detected_at_ms: Option<i64>,
) -> Option<(Generation, i64)> {
    match (generation, detected_at_ms) {
        (Some("v1"), Some(at)) => Some((Generation::V1, at)),
        (Some("v2"), Some(at)) => Some((Generation::V2, at)),
        _ => None,
    }
}

/// One server's row as read: its generation with when it was detected,
/// its `/version` document (only when asked for), its cached ventures.
struct ServerRow {
    generation: Option<(Generation, i64)>,
    version_json: Option<String>,
    ventures: Option<Cached<String>>,
}

impl Store {
    /// `base_url`'s row, by one statement; the `/version` document is not
    /// even copied out unless `with_version`.
    fn server_row(
        &self,
        base_url: &str,
        with_version: bool,
    ) -> Result<Option<ServerRow>, StoreError> {
        let sql = if with_version {
            "SELECT generation, detected_at_ms, ventures_json, ventures_fetched_at_ms, \
             version_json FROM server_info WHERE base_url = ?1"
        } else {
            "SELECT generation, detected_at_ms, ventures_json, ventures_fetched_at_ms, \
             NULL FROM server_info WHERE base_url = ?1"
        };
        self.read(|tx| {
            Ok(tx
                .prepare_cached(sql)?
                .query_row(params![base_url], |r| {
                    let generation: Option<String> = r.get(0)?;
                    let fetched_at_ms: Option<i64> = r.get(3)?;
                    Ok(ServerRow {
                        generation: remembered_generation(generation.as_deref(), r.get(1)?),
                        ventures: r.get::<_, Option<String>>(2)?.map(|value| Cached {
                            value,
                            fetched_at_ms: fetched_at_ms.unwrap_or(0),
                        }),
                        version_json: r.get(4)?,
                    })
                })
                .optional()?)
        })
    }

    /// What is remembered of `base_url`: its generation and its ventures.
    pub fn server_memory(&self, base_url: &str) -> Result<ServerMemory, StoreError> {
        let Some(row) = self.server_row(base_url, true)? else {
            return Ok(ServerMemory::default());
        };
        let version_json = row.version_json;
        Ok(ServerMemory {
            generation: row
                .generation
                .map(|(generation, detected_at_ms)| GenerationInfo {
                    generation,
                    version: version_json
                        .and_then(|j| serde_json::from_str::<ServerVersion>(&j).ok()),
                    source: GenerationSource::Remembered,
                    detected_at_ms,
                }),
            ventures: row.ventures,
        })
    }

    /// What choosing a checkout's venture reads of `base_url`: the
    /// generation remembered for it and its cached `GET /ventures` list
    /// (the server's JSON text) — [`Store::server_memory`] without the
    /// server's `/version` document, which such a command never reads and
    /// which was ~2 KiB of JSON to parse on every `crane status`.
    pub fn server_generation_and_ventures(
        &self,
        base_url: &str,
    ) -> Result<(Option<Generation>, Option<Cached<String>>), StoreError> {
        Ok(self
            .server_row(base_url, false)?
            .map(|row| (row.generation.map(|(g, _)| g), row.ventures))
            .unwrap_or_default())
    }

    /// The generation remembered for `base_url`.
    pub fn generation_of(&self, base_url: &str) -> Result<Option<GenerationInfo>, StoreError> {
        Ok(self.server_memory(base_url)?.generation)
    }

    /// Remembers the generation of `base_url` (and what `/version` said).
    pub fn put_generation(&self, base_url: &str, info: &GenerationInfo) -> Result<(), StoreError> {
        let version_json = info
            .version
            .as_ref()
            .and_then(|v| serde_json::to_string(v).ok());
        self.write_relaxed(|tx| {
            tx.prepare_cached(
                "INSERT INTO server_info (base_url, generation, version_json, detected_at_ms) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (base_url) DO UPDATE SET \
                 generation = excluded.generation, version_json = excluded.version_json, \
                 detected_at_ms = excluded.detected_at_ms",
            )?
            .execute(params![
                base_url,
                info.generation.as_str(),
                version_json,
                info.detected_at_ms
            ])?;
            Ok(())
        })
    }

    /// Forgets the generation of `base_url` (the ventures stay).
    pub fn forget_generation(&self, base_url: &str) -> Result<(), StoreError> {
        self.write_relaxed(|tx| {
            tx.prepare_cached(
                "UPDATE server_info SET generation = NULL, version_json = NULL, \
                 detected_at_ms = NULL WHERE base_url = ?1",
            )?
            .execute(params![base_url])?;
            Ok(())
        })
    }

    /// The `GET /ventures` list cached for `base_url` (the server's JSON
    /// text of the list) and when it was fetched.
    pub fn ventures_of(&self, base_url: &str) -> Result<Option<Cached<String>>, StoreError> {
        Ok(self.server_memory(base_url)?.ventures)
    }

    /// Caches the `GET /ventures` list of `base_url` (JSON text).
    pub fn put_ventures(
        &self,
        base_url: &str,
        ventures_json: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.write_relaxed(|tx| {
            tx.prepare_cached(
                "INSERT INTO server_info (base_url, ventures_json, ventures_fetched_at_ms) \
                 VALUES (?1, ?2, ?3) ON CONFLICT (base_url) DO UPDATE SET \
                 ventures_json = excluded.ventures_json, \
                 ventures_fetched_at_ms = excluded.ventures_fetched_at_ms",
            )?
            .execute(params![base_url, ventures_json, now_ms])?;
            Ok(())
        })
    }
}

impl GenerationMemory for Store {
    fn recall(&self, base_url: &str) -> Option<GenerationInfo> {
        self.generation_of(base_url)
            .map_err(|e| tracing::debug!(error = %e, "could not read the remembered generation"))
            .ok()
            .flatten()
    }

    fn remember(&self, base_url: &str, info: &GenerationInfo) {
        if let Err(e) = self.put_generation(base_url, info) {
            tracing::debug!(error = %e, "could not remember the server's generation");
        }
    }

    fn forget(&self, base_url: &str) {
        if let Err(e) = self.forget_generation(base_url) {
            tracing::debug!(error = %e, "could not forget the server's generation");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::QueueLimits;

    const URL: &str = "http://server.test/";

    fn info(generation: Generation) -> GenerationInfo {
        GenerationInfo {
            generation,
            version: serde_json::from_str(r#"{"service":"crane-context","version":"2.0.0"}"#).ok(),
            source: GenerationSource::Probed,
            detected_at_ms: 1_000,
        }
    }

    /// The light read answers exactly what `server_memory` remembers, in
    /// every state of a row: absent, ventures only, both, generation
    /// forgotten.
    #[test]
    fn the_generation_and_ventures_read_agrees_with_the_whole_row() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("crane.db"), QueueLimits::default()).unwrap();
        let both = |store: &Store| {
            let whole = store.server_memory(URL).unwrap();
            let light = store.server_generation_and_ventures(URL).unwrap();
            assert_eq!(light.0, whole.generation.as_ref().map(|g| g.generation));
            assert_eq!(light.1, whole.ventures);
            light
        };
        assert_eq!(both(&store), (None, None));
        store.put_ventures(URL, r#"[{"code":"vc"}]"#, 7).unwrap();
        let (generation, ventures) = both(&store);
        assert_eq!(generation, None);
        assert_eq!(
            ventures.map(|c| (c.value, c.fetched_at_ms)),
            Some((r#"[{"code":"vc"}]"#.to_owned(), 7))
        );
        store.put_generation(URL, &info(Generation::V2)).unwrap();
        assert_eq!(both(&store).0, Some(Generation::V2));
        store.put_generation(URL, &info(Generation::V1)).unwrap();
        assert_eq!(both(&store).0, Some(Generation::V1));
        store.forget_generation(URL).unwrap();
        let (generation, ventures) = both(&store);
        assert_eq!((generation, ventures.is_some()), (None, true));
        assert_eq!(
            store
                .server_generation_and_ventures("http://other.test/")
                .unwrap(),
            (None, None)
        );
    }
}
