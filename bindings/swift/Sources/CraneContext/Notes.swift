// Notes (v2): `client.notes.create/list/page/get/update/archive`.
//
// A create goes through the offline queue (the library's
// `create_note_or_queue`): it is persisted first and answers stored or
// queued; a queued note is delivered later, once, because the library sends
// it with a source hash the server upserts on. Reads and edits are sent now
// or fail with a connectivity error.
import CraneContextBindings
import Foundation

extension CraneClient {
    /// Notes of today's service (v2): ``CraneClient/notes``.
    ///
    /// ```swift
    /// let result = try await client.notes.create("deploys need the staging key", title: "deploy", venture: "vc")
    /// for try await note in client.notes.list(venture: "vc") { print(note.title ?? "-", note.content) }
    /// ```
    public struct Notes: Sendable {
        let native: CraneContextBindings.CraneClient

        /// Writes a note (global unless `venture` is given): stored now, or
        /// ``NoteResult/queued(localId:)`` when the server cannot be reached
        /// (then delivered later by itself, never twice). `sourceHash` is the
        /// upsert key; by default the library derives it from the content.
        @discardableResult
        public func create(
            _ content: String, title: String? = nil, tags: [String] = [], venture: String? = nil,
            sessionId: String? = nil, sourceHash: String? = nil
        ) async throws -> NoteResult {
            let request = NoteRequest(
                content: content, title: title, tags: tags, venture: venture,
                authoredBySessionId: sessionId, sourceHash: sourceHash)
            return try await bridged { NoteResult(try await native.createNoteOrQueue(request: request)) }
        }

        /// Every matching note, newest first, fetching pages (of `pageSize`,
        /// 1–100) as iteration needs them. `includeGlobal` adds the global
        /// notes to a venture's; `tags` matches notes carrying any of them;
        /// `query` is a substring of the title or content.
        public func list(
            venture: String? = nil, includeGlobal: Bool = false, tags: [String] = [], query: String? = nil,
            includeArchived: Bool = false, pageSize: UInt32? = nil
        ) -> AsyncThrowingStream<Note, Error> {
            let native = self.native
            return CursorWalk<Note> { cursor in
                let filter = NotesFilter(
                    venture: venture, includeGlobal: includeGlobal, tags: tags, query: query,
                    includeArchived: includeArchived, limit: pageSize, cursor: cursor)
                let page = try await bridged { try await native.notes(filter: filter) }
                return (page.notes.map(Note.init), page.nextCursor)
            }.stream()
        }

        /// One page of matching notes (with the count over every page); pass
        /// the previous page's ``NotePage/nextCursor`` for the next.
        public func page(
            venture: String? = nil, includeGlobal: Bool = false, tags: [String] = [], query: String? = nil,
            includeArchived: Bool = false, pageSize: UInt32? = nil, cursor: String? = nil
        ) async throws -> NotePage {
            let filter = NotesFilter(
                venture: venture, includeGlobal: includeGlobal, tags: tags, query: query,
                includeArchived: includeArchived, limit: pageSize, cursor: cursor)
            return try await bridged { NotePage(try await native.notes(filter: filter)) }
        }

        /// One note by id (``CraneError/notFound(_:)`` if there is none).
        public func get(_ id: String) async throws -> Note {
            try await bridged { Note(try await native.note(noteId: id)) }
        }

        /// Changes the given fields of a note (the others are kept): `tags`
        /// replace the old ones; `scope` moves it to a venture or makes it global.
        @discardableResult
        public func update(
            _ id: String, title: String? = nil, content: String? = nil, tags: [String]? = nil,
            scope: NoteScope? = nil
        ) async throws -> Note {
            var update = NoteUpdate(title: title, content: content, tags: tags)
            switch scope {
            case .global: update.makeGlobal = true
            case let .venture(code): update.venture = code
            case nil: break
            }
            let change = update
            return try await bridged { Note(try await native.updateNote(noteId: id, update: change)) }
        }

        /// Archives a note (listed again only with `includeArchived`).
        @discardableResult
        public func archive(_ id: String) async throws -> Note {
            try await bridged { Note(try await native.archiveNote(noteId: id)) }
        }
    }
}
