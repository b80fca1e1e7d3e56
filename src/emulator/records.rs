//! The two records the service returns — sessions and handoffs — and how they
//! are read from SQLite.
//!
//! Every route that returns a session or a handoff serializes one of these
//! structs, so the field set (21 session fields, 19 handoff fields, nulls
//! included) is the same everywhere and matches the recorded responses. The
//! column lists are constants so that each `SELECT` names its columns in the
//! order the row mappers read them.

use rusqlite::{Connection, OptionalExtension, Row};
use serde::Serialize;

/// A session as the service returns it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SessionRecord {
    pub(crate) id: String,
    pub(crate) agent: String,
    pub(crate) client: Option<String>,
    pub(crate) client_version: Option<String>,
    pub(crate) host: Option<String>,
    pub(crate) venture: String,
    pub(crate) repo: String,
    pub(crate) track: Option<i64>,
    pub(crate) issue_number: Option<i64>,
    pub(crate) branch: Option<String>,
    pub(crate) commit_sha: Option<String>,
    pub(crate) status: String,
    pub(crate) created_at: String,
    pub(crate) started_at: String,
    pub(crate) last_heartbeat_at: String,
    pub(crate) ended_at: Option<String>,
    pub(crate) end_reason: Option<String>,
    pub(crate) schema_version: String,
    pub(crate) actor_key_id: String,
    pub(crate) creation_correlation_id: String,
    pub(crate) meta_json: Option<String>,
}

/// Session columns in [`SessionRecord`] field order.
pub(crate) const SESSION_COLUMNS: &str = "id, agent, client, client_version, host, venture, repo, \
     track, issue_number, branch, commit_sha, status, created_at, started_at, last_heartbeat_at, \
     ended_at, end_reason, schema_version, actor_key_id, creation_correlation_id, meta_json";

impl SessionRecord {
    /// Reads a row selected with [`SESSION_COLUMNS`].
    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            agent: row.get(1)?,
            client: row.get(2)?,
            client_version: row.get(3)?,
            host: row.get(4)?,
            venture: row.get(5)?,
            repo: row.get(6)?,
            track: row.get(7)?,
            issue_number: row.get(8)?,
            branch: row.get(9)?,
            commit_sha: row.get(10)?,
            status: row.get(11)?,
            created_at: row.get(12)?,
            started_at: row.get(13)?,
            last_heartbeat_at: row.get(14)?,
            ended_at: row.get(15)?,
            end_reason: row.get(16)?,
            schema_version: row.get(17)?,
            actor_key_id: row.get(18)?,
            creation_correlation_id: row.get(19)?,
            meta_json: row.get(20)?,
        })
    }

    /// Loads one session by id.
    pub(crate) fn load(conn: &Connection, id: &str) -> rusqlite::Result<Option<Self>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1");
        conn.prepare_cached(&sql)?
            .query_row([id], Self::from_row)
            .optional()
    }

    /// Inserts this session as a new row.
    pub(crate) fn insert(&self, conn: &Connection) -> rusqlite::Result<()> {
        let sql = format!(
            "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"
        );
        conn.prepare_cached(&sql)?.execute(rusqlite::params![
            self.id,
            self.agent,
            self.client,
            self.client_version,
            self.host,
            self.venture,
            self.repo,
            self.track,
            self.issue_number,
            self.branch,
            self.commit_sha,
            self.status,
            self.created_at,
            self.started_at,
            self.last_heartbeat_at,
            self.ended_at,
            self.end_reason,
            self.schema_version,
            self.actor_key_id,
            self.creation_correlation_id,
            self.meta_json,
        ])?;
        Ok(())
    }
}

/// A handoff as the service returns it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct HandoffRecord {
    pub(crate) id: String,
    pub(crate) session_id: String,
    pub(crate) venture: String,
    pub(crate) repo: String,
    pub(crate) track: Option<i64>,
    pub(crate) issue_number: Option<i64>,
    pub(crate) branch: Option<String>,
    pub(crate) commit_sha: Option<String>,
    pub(crate) from_agent: String,
    pub(crate) to_agent: Option<String>,
    pub(crate) status_label: Option<String>,
    pub(crate) summary: String,
    pub(crate) payload_json: String,
    pub(crate) payload_hash: String,
    pub(crate) payload_size_bytes: i64,
    pub(crate) schema_version: String,
    pub(crate) created_at: String,
    pub(crate) actor_key_id: String,
    pub(crate) creation_correlation_id: String,
}

/// Handoff columns in [`HandoffRecord`] field order.
pub(crate) const HANDOFF_COLUMNS: &str = "id, session_id, venture, repo, track, issue_number, \
     branch, commit_sha, from_agent, to_agent, status_label, summary, payload_json, payload_hash, \
     payload_size_bytes, schema_version, created_at, actor_key_id, creation_correlation_id";

impl HandoffRecord {
    /// Reads a row selected with [`HANDOFF_COLUMNS`].
    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            session_id: row.get(1)?,
            venture: row.get(2)?,
            repo: row.get(3)?,
            track: row.get(4)?,
            issue_number: row.get(5)?,
            branch: row.get(6)?,
            commit_sha: row.get(7)?,
            from_agent: row.get(8)?,
            to_agent: row.get(9)?,
            status_label: row.get(10)?,
            summary: row.get(11)?,
            payload_json: row.get(12)?,
            payload_hash: row.get(13)?,
            payload_size_bytes: row.get(14)?,
            schema_version: row.get(15)?,
            created_at: row.get(16)?,
            actor_key_id: row.get(17)?,
            creation_correlation_id: row.get(18)?,
        })
    }

    /// Inserts this handoff as a new row.
    pub(crate) fn insert(&self, conn: &Connection) -> rusqlite::Result<()> {
        let sql = format!(
            "INSERT INTO handoffs ({HANDOFF_COLUMNS}) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
        );
        conn.prepare_cached(&sql)?.execute(rusqlite::params![
            self.id,
            self.session_id,
            self.venture,
            self.repo,
            self.track,
            self.issue_number,
            self.branch,
            self.commit_sha,
            self.from_agent,
            self.to_agent,
            self.status_label,
            self.summary,
            self.payload_json,
            self.payload_hash,
            self.payload_size_bytes,
            self.schema_version,
            self.created_at,
            self.actor_key_id,
            self.creation_correlation_id,
        ])?;
        Ok(())
    }
}
