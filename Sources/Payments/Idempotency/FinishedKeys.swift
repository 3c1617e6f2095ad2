import PaymentsCore
import Synchronization

/// The idempotency keys this process has seen finished, so a replay is answered without reading the database.
///
/// A finished key never changes: its saved response is final, on any number of instances, until the sweeper deletes
/// the row, which it does only once the key has expired. So an entry is served only while its key has not expired
/// (`expiresAt`, by the context's clock, the sweeper's clock too), and a key past that is looked up in the database
/// again, as if it had never been cached. Only finished rows are kept; a key in flight or at a recovery point is
/// always read from the database. The decision (same method, path and parameters' fingerprint, else the 400) is
/// the row's own (``IdempotencyKey/decision(method:path:fingerprint:now:)``), made on the cached row as on a read one.
/// Once a request's body has replayed a row, the row also keeps that body's digest, so the same bytes replay again
/// without being parsed (``noteReplay(apiKey:key:body:)``, ``IdempotencyKeys/replayed(apiKey:key:method:path:body:)``).
///
/// Bounded: at most ``capacity`` entries and ``byteBudget`` bytes of saved responses (each entry's two body digests,
/// 32 bytes each, are not counted); past either, the oldest entries go first (first in, first out: replays come soon
/// after the first request, from its client's retries).
public final class FinishedKeys: Sendable {
    /// At most this many keys.
    public let capacity: Int
    /// At most this many bytes of saved response bodies in all.
    public let byteBudget: Int

    private struct Entry {
        let row: IdempotencyKey
        let bytes: Int
        /// The bodies of requests this process replayed the key to (``noteReplay(apiKey:key:body:)``), the latest
        /// few.
        var replayedBodies: [RequestBodyDigest] = []
    }

    /// How many replayed bodies an entry keeps: a client retries with the same bytes; a few tell apart the rare
    /// clients that send the same parameters in another order.
    static let replayedBodiesKept = 2

    private struct State {
        var entries: [Scoped: Entry] = [:]
        /// Insertion order, oldest first; `head` is the index of the oldest still counted.
        var order: [Scoped] = []
        var head = 0
        var bytes = 0
    }

    /// A key in its scope, compared byte for byte as the stores compare them. Swift's `==` on strings is canonical
    /// equivalence: `café` with `é` as one code point and as `e` and a combining accent were one key here, and once
    /// the first had replayed, the second's order was answered with the first one's payment.
    private struct Scoped: Hashable {
        let apiKey: String
        let key: String

        static func == (lhs: Scoped, rhs: Scoped) -> Bool {
            lhs.key.utf8.elementsEqual(rhs.key.utf8) && lhs.apiKey.utf8.elementsEqual(rhs.apiKey.utf8)
        }

        func hash(into hasher: inout Hasher) {
            Self.combine(apiKey, into: &hasher)
            Self.combine(key, into: &hasher)
        }

        /// Feeds `text`'s UTF-8 bytes and their count to `hasher` (a native string's bytes in one call).
        private static func combine(_ text: String, into hasher: inout Hasher) {
            var text = text
            text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
            hasher.combine(text.utf8.count)
        }
    }

    private let state = Mutex(State())

    /// Creates an empty cache: by default 4,096 keys and 16 MiB of responses.
    public init(capacity: Int = 4096, byteBudget: Int = 16 << 20) {
        self.capacity = max(0, capacity)
        self.byteBudget = max(0, byteBudget)
    }

    /// The finished row of `key` in the scope `apiKey`, if cached and not expired at `now`.
    public func row(apiKey: String, key: String, now: Int64) -> IdempotencyKey? {
        state.withLock { state in
            guard let entry = state.entries[Scoped(apiKey: apiKey, key: key)] else { return nil }
            if let expiresAt = entry.row.expiresAt, expiresAt <= now { return nil }
            return entry.row
        }
    }

    /// The finished row of `key` in the scope `apiKey`, if cached, not expired at `now`, and replayed before to a
    /// request with `body` (``noteReplay(apiKey:key:body:)``): a request with these bytes has the parameters the
    /// row was made with.
    public func row(apiKey: String, key: String, body: RequestBodyDigest, now: Int64) -> IdempotencyKey? {
        state.withLock { state in
            guard let entry = state.entries[Scoped(apiKey: apiKey, key: key)],
                entry.replayedBodies.contains(body)
            else { return nil }
            if let expiresAt = entry.row.expiresAt, expiresAt <= now { return nil }
            return entry.row
        }
    }

    /// Notes that `key`'s cached row was replayed to a request with `body`, whose parameters were found to be the
    /// row's own (``IdempotencyKey/decision(method:path:fingerprint:now:)``); nothing when the key is not cached.
    public func noteReplay(apiKey: String, key: String, body: RequestBodyDigest) {
        state.withLock { state in
            let scoped = Scoped(apiKey: apiKey, key: key)
            guard var entry = state.entries[scoped], !entry.replayedBodies.contains(body) else { return }
            entry.replayedBodies.append(body)
            if entry.replayedBodies.count > Self.replayedBodiesKept { entry.replayedBodies.removeFirst() }
            state.entries[scoped] = entry
        }
    }

    /// Remembers `row` if it is finished and not expired at `now`; anything else is ignored.
    public func remember(_ row: IdempotencyKey, now: Int64) {
        guard row.recoveryPoint == .finished, capacity > 0 else { return }
        if let expiresAt = row.expiresAt, expiresAt <= now { return }
        let bytes = row.responseBody?.count ?? 0
        guard bytes <= byteBudget else { return }
        let scoped = Scoped(apiKey: row.apiKey, key: row.key)
        state.withLock { state in
            guard state.entries[scoped] == nil else { return }
            state.entries[scoped] = Entry(row: row, bytes: bytes)
            state.order.append(scoped)
            state.bytes += bytes
            while state.entries.count > capacity || state.bytes > byteBudget {
                let oldest = state.order[state.head]
                state.head += 1
                if let gone = state.entries.removeValue(forKey: oldest) { state.bytes -= gone.bytes }
            }
            // Drop the consumed prefix now and then, so the order array stays about as long as the cache.
            if state.head > capacity {
                state.order.removeFirst(state.head)
                state.head = 0
            }
        }
    }

    /// How many keys and response bytes are cached.
    public var usage: (keys: Int, bytes: Int) { state.withLock { ($0.entries.count, $0.bytes) } }
}
