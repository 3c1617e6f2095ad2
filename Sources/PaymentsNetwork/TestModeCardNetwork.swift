import Foundation
import GRDB
import PaymentsCore
import PaymentsSQLite

/// The built-in test-mode acquirer: decides by Stripe's test cards and keeps its own durable ledger.
///
/// The ledger is a separate SQLite file, as a remote acquirer's records would be: it survives our crashes, and
/// tests count real charges there independently of the service's tables. Every call is idempotent on its
/// reference: an attempt id is decided once, and asking again returns the recorded answer.
public struct TestModeCardNetwork: CardNetwork {
    private let ledger: DatabaseQueue
    /// The ledger's writes share commits under load, as the service's do.
    private let writer: GroupCommitWriter
    /// Checkpoints the ledger's write-ahead log beside its writer, as the service's database does.
    private let checkpointer: BackgroundCheckpointer
    /// The ledger's file and its log as opened, checked before each batch of writes (``SQLiteFiles``).
    private let files: SQLiteFiles
    private let latency: Duration

    /// Opens (creating if needed) the ledger at `path`.
    /// - Parameters:
    ///   - latency: a pause before each answer, to stand in for a remote network in benchmarks.
    ///   - writerNiceness: added to the ledger's group commit writer's thread's nice value (0 keeps the process's).
    public init(ledgerPath: String, latency: Duration = .zero, writerNiceness: Int = 0) throws {
        let role = "The card network's ledger (networkLedger, PAYMENTS_NETWORK_LEDGER)"
        try SQLiteFilePath.prepare(ledgerPath, role: role)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        WALWriteBuffer.install()
        // Opened and set up as one: a ledger another process holds locked (an admin's `sqlite3`) is refused in
        // words naming it, where SQLite's `database is locked - while executing BEGIN IMMEDIATE` named nothing
        let queue = try SQLiteFilePath.opening(ledgerPath, role: role) {
            let queue = try DatabaseQueue(path: ledgerPath, configuration: configuration)
            try Self.setUp(queue)
            return queue
        }
        self.ledger = queue
        let checkpointer = try BackgroundCheckpointer(queue)
        self.checkpointer = checkpointer
        guard let files = SQLiteFiles(path: ledgerPath, checkpointer: checkpointer) else {
            throw LedgerDisplaced(path: ledgerPath, file: .database)
        }
        self.files = files
        // A ledger replaced or removed under the server, or its log: its approvals went to the file it opened, which
        // no restart found, and the next start refused to run ("does not hold N of the 100 newest approved
        // charges") while the database named them (a probe). Every write is refused until the server restarts on
        // the right files; a log removed is first copied into the ledger's file from the one still open.
        self.writer = GroupCommitWriter(queue, label: "card-network", niceness: writerNiceness) {
            if let displaced = files.displaced() { throw LedgerDisplaced(path: ledgerPath, file: displaced) }
        }
        self.latency = latency
    }

    /// The ledger's file, or its log, is no longer the one the server opened.
    public struct LedgerDisplaced: Error, CustomStringConvertible {
        public let path: String
        public let file: SQLiteFiles.Displaced

        public var description: String {
            switch file {
            case .database:
                "the card network's ledger \(path) was removed or replaced while the server ran; nothing was "
                    + "written to it. Put it back, or restart the server on it"
            case .log:
                "the write-ahead log of the card network's ledger (\(path)-wal) was removed or replaced while the "
                    + "server ran; nothing was written to it. Restart the server"
            }
        }
    }

    /// Which of the ledger's files is no longer the one opened, or nil (``SQLiteFiles``): `serve`'s readiness check
    /// asks. A log removed is copied into the ledger's file from the one still open, so that a crash loses nothing.
    public func displaced() async -> SQLiteFiles.Displaced? {
        let displaced = files.displaced()
        if displaced == .log {
            _ = try? await ledger.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        }
        return displaced
    }

    /// Sets the ledger's journal up and makes or completes its tables.
    private static func setUp(_ queue: DatabaseQueue) throws {
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Savepoints' sub-journals in memory, not in temporary files (see `PaymentDatabase`): the ledger's
            // group commit uses savepoints too.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        // IMMEDIATE: a server and a `payments sweep` opening an older ledger at once add its columns one after the
        // other, the second seeing the first's.
        try queue.inTransaction(.immediate) { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS authorizations (
                        attempt_id TEXT PRIMARY KEY NOT NULL,
                        created INTEGER NOT NULL,
                        last4 TEXT NOT NULL,
                        amount INTEGER NOT NULL,
                        currency TEXT NOT NULL,
                        approved INTEGER NOT NULL,
                        code TEXT,
                        decline_code TEXT,
                        message TEXT,
                        authorization_code TEXT,
                        captured_amount INTEGER NOT NULL DEFAULT 0,
                        voided INTEGER NOT NULL DEFAULT 0,
                        refund_behavior TEXT NOT NULL DEFAULT 'succeeds'
                    ) STRICT;
                    CREATE TABLE IF NOT EXISTS refunds (
                        refund_id TEXT PRIMARY KEY NOT NULL,
                        attempt_id TEXT NOT NULL REFERENCES authorizations (attempt_id),
                        amount INTEGER NOT NULL,
                        requested_at INTEGER NOT NULL DEFAULT 0
                    ) STRICT;
                    """
            )
            for (table, column, definition) in Self.addedColumns
            where try !db.columns(in: table).contains(where: { $0.name == column }) {
                try db.execute(sql: "ALTER TABLE \(table) ADD COLUMN \(column) \(definition)")
            }
            return .commit
        }
    }

    /// Columns added to the ledger since its first version, with their definitions: a ledger file made before them
    /// gets them when opened. An authorization's `refund_behavior` is how its card's refunds behave (the ledger
    /// never keeps the card number); a refund's `requested_at` is when it was first asked for (0 for older ones,
    /// whose refunds are long settled); an authorization's `capture_reference` names the capture request that
    /// captured it (null for an automatic capture, and for captures made before the column), and its
    /// `void_reference` the release request that released it (null for the sweeper's batch releases, and for
    /// releases made before the column).
    private static let addedColumns = [
        ("authorizations", "refund_behavior", "TEXT NOT NULL DEFAULT 'succeeds'"),
        ("refunds", "requested_at", "INTEGER NOT NULL DEFAULT 0"),
        ("authorizations", "capture_reference", "TEXT"),
        ("authorizations", "void_reference", "TEXT"),
    ]

    /// Copies the whole write-ahead log of the ledger into its file and empties it, as the service's database does
    /// at `serve`'s clean stop (``BackgroundCheckpointer/finish()``; only `serve` asks for it).
    /// Not when the ledger's file was removed or replaced: as the database's (``SQLiteFiles``), its log is left as
    /// it is, for the file the server opened.
    public func emptyLogAtStop() async throws {
        if files.displaced() == .database { throw LedgerDisplaced(path: files.path, file: .database) }
        try await checkpointer.finish()
    }

    /// Whether a commit of the ledger failed for the disk (full, or an I/O error) within `window` of now
    /// (``GroupCommitWriter/recentDiskFailure(within:)``): `serve`'s readiness check asks, since every payment then
    /// fails at the network while the service's own database may still take its check's write.
    ///
    /// When one did, the log may be what filled the disk (a long read kept it from starting over), and it starts
    /// over only after a checkpoint has copied it, which commits ask for and none commits now: what can be copied
    /// is, so that a later commit can start the log over, as the database's own check does.
    public func recentDiskFailure(within window: Duration) async -> Bool {
        guard writer.recentDiskFailure(within: window) else { return false }
        _ = try? await ledger.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        return true
    }

    /// Whether a commit of the ledger could not take its write lock within the busy timeout within `window` of now
    /// (``GroupCommitWriter/recentLockOut(within:)``): another process holds it (an admin's `sqlite3`), and every
    /// payment fails at the network meanwhile, while readiness answered ready (a probe).
    public func recentLockOut(within window: Duration) -> Bool {
        writer.recentLockOut(within: window)
    }

    public func lookUp(_ card: CardNumber) -> CardLookup { TestModeIssuer.lookUp(card) }

    public func attachDecline(_ card: CardNumber, cvcProvided: Bool) -> CardDecline? {
        TestModeIssuer.attachDecline(card, cvcProvided: cvcProvided)
    }

    public func testCardNumber(forPaymentMethodID id: String) -> String? {
        TestModeIssuer.testCardNumber(forPaymentMethodID: id)
    }

    public func authorize(_ request: AuthorizationRequest) async throws -> AuthorizationResult {
        if latency > .zero { try await Task.sleep(for: latency) }
        return try await writer.write { db in
            // Cached statements: the ledger's writer is as hot as the service's (one write per payment). A new
            // attempt is inserted straight away; the recorded answer is read only when the attempt was there
            // already (a retry, or the sweeper settling it), and stands.
            let result = TestModeIssuer.decide(request)
            var approved = false
            var decline: CardDecline?
            var code: String?
            switch result {
            case .approved(let authorizationCode):
                approved = true
                code = authorizationCode
            case .declined(let value):
                decline = value
            }
            try db.cachedStatement(
                sql: """
                    INSERT INTO authorizations (attempt_id, created, last4, amount, currency, approved, code,
                        decline_code, message, authorization_code, captured_amount, refund_behavior)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (attempt_id) DO NOTHING
                    """
            )
            .execute(
                arguments: [
                    request.attemptID, request.now, request.card.last4, request.amount, request.currency, approved,
                    decline?.code, decline?.declineCode, decline?.message, code,
                    approved && request.capture ? request.amount : 0,
                    TestModeIssuer.refundBehavior(of: request.card).rawValue,
                ]
            )
            if db.changesCount == 1 { return result }
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT approved, code, decline_code, message, authorization_code FROM authorizations "
                            + "WHERE attempt_id = ?"
                    ),
                    arguments: [request.attemptID]
                )
            else {
                throw DatabaseError(message: "authorization \(request.attemptID) neither inserted nor found")
            }
            return Self.result(from: row)
        }
    }

    public func capture(attemptID: String, amount: Int64, reference: String) async throws -> NetworkCapture? {
        try await writer.write { db in
            try db.cachedStatement(
                sql: "UPDATE authorizations SET captured_amount = ?, capture_reference = ? WHERE attempt_id = ? "
                    + "AND approved = 1 AND voided = 0 AND captured_amount = 0"
            )
            .execute(arguments: [amount, reference, attemptID])
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT captured_amount, capture_reference FROM authorizations WHERE attempt_id = ? "
                        + "AND voided = 0"
                ),
                arguments: [attemptID]
            )
            guard let row, let captured = row["captured_amount"] as Int64?, captured > 0 else { return nil }
            return NetworkCapture(amount: captured, reference: row["capture_reference"])
        }
    }

    public func void(attemptID: String) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE authorizations SET voided = 1 WHERE attempt_id = ? AND captured_amount = 0",
                arguments: [attemptID]
            )
            return try Bool.fetchOne(
                db,
                sql: "SELECT voided FROM authorizations WHERE attempt_id = ?",
                arguments: [attemptID]
            )
                ?? true
        }
    }

    public func void(attemptID: String, reference: String) async throws -> NetworkRelease {
        try await writer.write { db in
            try db.cachedStatement(
                sql: "UPDATE authorizations SET voided = 1, void_reference = ? WHERE attempt_id = ? "
                    + "AND captured_amount = 0 AND voided = 0"
            )
            .execute(arguments: [reference, attemptID])
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT voided, void_reference FROM authorizations WHERE attempt_id = ?"),
                arguments: [attemptID]
            )
            // An attempt the network never saw holds nothing: released, as `void(attemptID:)` answers it
            guard let row else { return .released(reference: nil) }
            return row["voided"] as Bool ? .released(reference: row["void_reference"]) : .capturedFirst
        }
    }

    /// Releases a batch of authorizations in one ledger transaction (one commit for the batch, instead of one per
    /// authorization), each exactly as ``void(attemptID:)`` releases it: an attempt it captured first stays
    /// captured and answers false; one it never saw answers true.
    public func void(attemptIDs: [String]) async throws -> [String: Bool] {
        try await writer.write { db in
            let release = try db.cachedStatement(
                sql: "UPDATE authorizations SET voided = 1 WHERE attempt_id = ? AND captured_amount = 0"
            )
            let read = try db.cachedStatement(sql: "SELECT voided FROM authorizations WHERE attempt_id = ?")
            var answers: [String: Bool] = [:]
            answers.reserveCapacity(attemptIDs.count)
            for attempt in attemptIDs {
                try release.execute(arguments: [attempt])
                answers[attempt] = try Bool.fetchOne(read, arguments: [attempt]) ?? true
            }
            return answers
        }
    }

    /// The amount captured at the network for an attempt (0 when uncaptured or unknown).
    public func capturedAmount(attemptID: String) throws -> Int64 {
        try ledger.read { db in
            try Int64.fetchOne(
                db,
                sql: "SELECT captured_amount FROM authorizations WHERE attempt_id = ?",
                arguments: [attemptID]
            )
                ?? 0
        }
    }

    /// Records the refund the first time its id is seen (as of `now`), and answers where it stands at `now` by its
    /// card's refund behaviour (`TestModeIssuer.refundResult`): asking again never refunds twice.
    public func refund(attemptID: String, refundID: String, amount: Int64, now: Int64) async throws -> RefundResult {
        try await writer.write { db in
            if try Self.refusesOverRefund(db, attemptID: attemptID, refundID: refundID, amount: amount) {
                return RefundResult(status: .failed(reason: Self.overRefundReason))
            }
            try db.execute(
                sql: "INSERT OR IGNORE INTO refunds (refund_id, attempt_id, amount, requested_at) VALUES (?, ?, ?, ?)",
                arguments: [refundID, attemptID, amount, now]
            )
            let row = try Row.fetchOne(
                db,
                sql: "SELECT r.requested_at, a.refund_behavior FROM refunds AS r "
                    + "JOIN authorizations AS a ON a.attempt_id = r.attempt_id WHERE r.refund_id = ?",
                arguments: [refundID]
            )
            let behavior = row.flatMap { RefundBehavior(rawValue: $0["refund_behavior"]) } ?? .succeeds
            let requestedAt: Int64 = row?["requested_at"] ?? now
            return TestModeIssuer.refundResult(behavior, requestedAt: requestedAt, now: now)
        }
    }

    /// Stripe's `failure_reason` of a refund the network refuses for want of captured money to give back.
    public static let overRefundReason = "declined"

    /// Whether a refund seen for the first time would give back more than the attempt's capture, with the refunds
    /// that stand: an acquirer refuses it. The service never asks for one (its database holds the refunds), but a
    /// database restored from a backup older than the ledger does not know the refunds made since: the network paid
    /// a charge's whole capture back on top of a refund made after the backup. A refused refund is not recorded, so
    /// asking again answers the same.
    ///
    /// The refunds of a card whose refunds fail later (`4000000000005126`) never stand: each gives its money back
    /// once it fails, which the service may learn at a time of its own (`payments sweep --now +2m`) before this
    /// network's clock, and a second refund after the first one failed was refused.
    private static func refusesOverRefund(_ db: Database, attemptID: String, refundID: String, amount: Int64)
        throws -> Bool
    {
        guard
            try Bool.fetchOne(db, sql: "SELECT 1 FROM refunds WHERE refund_id = ?", arguments: [refundID]) == nil,
            let authorization = try Row.fetchOne(
                db,
                sql: "SELECT captured_amount, refund_behavior FROM authorizations WHERE attempt_id = ?",
                arguments: [attemptID]
            ),
            RefundBehavior(rawValue: authorization["refund_behavior"]) != .succeedsThenFails
        else { return false }
        let captured: Int64 = authorization["captured_amount"]
        let refunded =
            try Int64.fetchOne(
                db,
                sql: "SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE attempt_id = ?",
                arguments: [attemptID]
            ) ?? 0
        return refunded + amount > captured
    }

    /// The refunds the ledger holds for an attempt, by refund id, with their amounts: each refund the network made
    /// (whatever became of it later), once.
    public func refunds(attemptID: String) throws -> [String: Int64] {
        try ledger.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT refund_id, amount FROM refunds WHERE attempt_id = ?",
                arguments: [attemptID]
            )
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["refund_id"], $0["amount"]) })
        }
    }

    /// The attempts of `attemptIDs` the ledger holds an approved authorization for.
    public func approvedAttempts(_ attemptIDs: [String]) throws -> Set<String> {
        try ledger.read { db in
            let statement = try db.cachedStatement(
                sql: "SELECT 1 FROM authorizations WHERE attempt_id = ? AND approved = 1"
            )
            return Set(try attemptIDs.filter { try Bool.fetchOne(statement, arguments: [$0]) != nil })
        }
    }

    /// The ids of the ledger's newest approved authorizations, newest first, at most `limit`.
    public func newestApprovedAttempts(limit: Int) throws -> [String] {
        try ledger.read { db in
            try String.fetchAll(
                db,
                sql: "SELECT attempt_id FROM authorizations WHERE approved = 1 ORDER BY rowid DESC LIMIT ?",
                arguments: [limit]
            )
        }
    }

    /// The number of approved authorizations in the ledger: the charges that really happened.
    public func approvedCount() throws -> Int {
        try ledger.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM authorizations WHERE approved = 1") ?? 0
        }
    }

    private static func result(from row: Row) -> AuthorizationResult {
        if row["approved"] as Bool {
            return .approved(authorizationCode: row["authorization_code"] ?? "")
        }
        return .declined(
            CardDecline(
                code: row["code"] ?? "card_declined",
                declineCode: row["decline_code"],
                message: row["message"] ?? ""
            )
        )
    }
}
