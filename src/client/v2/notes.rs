//! Notes: create (an upsert on `source_hash`, so retried), list, read,
//! update and archive.

use bytes::Bytes;

use crate::model::v2::{ArchivedNote, NewNote, Note, NoteChanges, NotePage, NoteReply, NotesQuery};
use crate::Client;
use crate::Error;

use super::super::to_body;
use super::path_with;

impl Client {
    /// `POST /notes`: creates a note and returns it.
    ///
    /// Always sent with a `source_hash` — the request's, else one derived
    /// from its content ([`NewNote::content_source_hash`]) — which makes the
    /// server upsert on it, so the call is retried like a read and never
    /// duplicates a note. A note identical to an existing one (same title,
    /// content, tags and venture) returns that note, even if it is archived
    /// (check [`Note::archived`]).
    pub async fn create_note(&self, req: &NewNote) -> Result<Note, Error> {
        req.validate()?;
        let sent = req.with_effective_source_hash()?;
        let r: NoteReply = self.post_repeatable("/notes", to_body(&sent)?).await?;
        Ok(r.note)
    }

    /// `GET /notes`: one page of notes, newest first. Walk the pages with
    /// [`NotesQuery::after`].
    pub async fn notes(&self, q: &NotesQuery) -> Result<NotePage, Error> {
        q.validate()?;
        self.read("/notes", &q.pairs()).await
    }

    /// `GET /notes/:id`: one note, archived or not.
    pub async fn note(&self, note_id: &str) -> Result<Note, Error> {
        let path = path_with("/notes", "note_id", note_id, "")?;
        let r: NoteReply = self.read(&path, &[]).await?;
        Ok(r.note)
    }

    /// `POST /notes/:id/update`: changes the named fields; returns the note.
    pub async fn update_note(&self, note_id: &str, changes: &NoteChanges) -> Result<Note, Error> {
        changes.validate()?;
        let path = path_with("/notes", "note_id", note_id, "/update")?;
        let r: NoteReply = self.post_repeatable(&path, to_body(changes)?).await?;
        Ok(r.note)
    }

    /// `POST /notes/:id/archive`: archives the note (hidden from lists
    /// unless asked for); returns it. Archiving twice is the same.
    pub async fn archive_note(&self, note_id: &str) -> Result<Note, Error> {
        let path = path_with("/notes", "note_id", note_id, "/archive")?;
        let r: ArchivedNote = self
            .post_repeatable(&path, Bytes::from_static(b"{}"))
            .await?;
        Ok(r.note)
    }
}
