import Foundation
import PaymentsCore
import Synchronization

/// A new idempotency key that a request takes in its first write transaction instead of a transaction of its own.
///
/// When the begin phase finds no row for a key (on a read snapshot, with no write), the request runs at once and
/// its key row is inserted by the first transaction it commits — for a create-and-confirm, the phase-one
/// transaction that records the intent and its attempt — so a new key costs no commit of its own. Every write made
/// while the request runs goes through ``UseCaseStore``, which claims first while the claim is pending, so no
/// change of the request can ever commit without its key. A request that fails before writing anything leaves no
/// row (it never executed), as when a key at its start is released.
///
/// Two requests with one new key may both find no row; the store's unique key lets only one insert it. The other's
/// transaction rolls back with ``IdempotencyKeyTaken`` before it changed anything, and it answers 409 (or, for a
/// recharge row, asks again), as if it had found the key in flight.
public final class KeyClaim: Sendable {
    /// The claim of the request running in this task, if its key is new (bound by ``IdempotencyKeys/holding(_:_:)``).
    @TaskLocal static var current: KeyClaim?

    let request: IdempotencyKeys.Request
    let fingerprint: String
    let token: String
    /// When the request began, and when its lease runs out counted from then (what its ``IdempotencyLease`` says).
    let now: Int64
    let until: Int64
    /// The clock and the lease's length the row is written with: its lease is counted from the write, which may
    /// come seconds after the begin phase (a queue of writes, a PostgreSQL pool waited for), not from the begin.
    private let clock: UnixClock
    private let lease: Int64
    private let claimed = Mutex(false)

    init(
        request: IdempotencyKeys.Request,
        fingerprint: String,
        token: String,
        clock: UnixClock,
        lease: Int64
    ) {
        self.request = request
        self.fingerprint = fingerprint
        self.token = token
        self.clock = clock
        self.lease = lease
        self.now = clock.now()
        self.until = now + lease
    }

    /// Whether the key row is committed (from then on the request's writes need no claim).
    var isClaimed: Bool { claimed.withLock { $0 } }

    /// Inserts the key row held by this request's token in `tx`, unless an earlier transaction of the request did.
    /// - Throws: ``IdempotencyKeyTaken`` when another request has the key (the transaction must roll back); the
    ///   mismatch error when that request used other parameters.
    func claim(in tx: any StoreTransaction) throws {
        guard !isClaimed else { return }
        switch try begin(in: tx) {
        case .proceed(let row) where row.recoveryPoint == .started && row.lockedBy == token:
            tx.afterCommit { self.claimed.withLock { $0 = true } }
        case .mismatch(let samePath, let firstPath):
            throw IdempotencyKeys.mismatchError(request, samePath: samePath, firstPath: firstPath)
        case .proceed, .replay, .inFlight:
            // Taken since the begin phase looked (and perhaps already finished, or left a recovery point this
            // request, already running as a new one, must not ignore): the key is another request's.
            throw IdempotencyKeyTaken(key: request.key)
        }
    }
}

extension KeyClaim {
    /// The store's begin phase for this request in `tx`: inserts the key held by ``token``, takes over one whose
    /// holder's lease ran out, or reports what the key's first request left.
    func begin(in tx: any StoreTransaction) throws -> IdempotencyBegin {
        let now = clock.now()
        return try tx.beginIdempotentRequest(
            apiKey: request.apiKey,
            key: request.key,
            method: request.method,
            path: request.path,
            fingerprint: fingerprint,
            requestID: request.requestID,
            token: token,
            now: now,
            lockedUntil: now + lease,
            expiresAt: request.lifetime.map { now + $0 }
        )
    }
}

/// Another request took a new key between this request's begin phase and its first write; nothing of this request
/// was committed. Answered as a key in flight (409).
public struct IdempotencyKeyTaken: Error, Sendable, Equatable {
    /// The client's key, or a recharge reference.
    public let key: String

    /// Creates the error for `key`.
    public init(key: String) { self.key = key }
}
