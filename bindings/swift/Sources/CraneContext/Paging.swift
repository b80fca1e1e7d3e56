// Cursor-paged lists (notes, handoffs in a date window) as one
// `AsyncThrowingStream`: the next page is fetched only when iteration needs
// it, so breaking out of a `for try await` loop costs no further request.
import Foundation

/// The state of one cursor walk: the next page's cursor and the rest of the
/// current page. `AsyncThrowingStream(unfolding:)` calls `next` once at a
/// time, never concurrently, which is what makes the unchecked `Sendable` safe.
final class CursorWalk<Item: Sendable>: @unchecked Sendable {
    /// Fetches the page at a cursor (`nil`: the first page) and returns its
    /// items and the next page's cursor (`nil`: it was the last).
    typealias Fetch = @Sendable (String?) async throws -> (items: [Item], next: String?)

    private let fetch: Fetch
    private var cursor: String?
    private var buffered: [Item] = []
    private var done = false

    init(_ fetch: @escaping Fetch) {
        self.fetch = fetch
    }

    func next() async throws -> Item? {
        while buffered.isEmpty && !done {
            let page = try await fetch(cursor)
            buffered = page.items
            cursor = page.next
            done = page.next == nil
        }
        return buffered.isEmpty ? nil : buffered.removeFirst()
    }

    /// The walk as a stream.
    func stream() -> AsyncThrowingStream<Item, Error> {
        AsyncThrowingStream(unfolding: next)
    }
}
