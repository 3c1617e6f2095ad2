import Foundation
import GRDB
import PaymentsCore
import PaymentsStore
import TestSupport
import Testing

/// The store's handwritten row SQL against GRDB's Codable records, which wrote every row before it: rows they wrote
/// read back equal, and the store writes every column exactly as they did (JSON text for nested values, 0/1 for
/// Bools, raw values for enums, blobs for bytes), so existing databases stay readable and admins' SQL sees the same.
@Suite("Rows written by GRDB's Codable records")
struct CodableRowCompatibilityTests {
    @Test("Read back equal through the store", arguments: SampleRows.Shape.allCases)
    func readBack(_ shape: SampleRows.Shape) async throws {
        // Given rows of every type written by Codable records (the card as the vault's row always was)
        let environment = try TestEnvironment()
        let rows = SampleRows(shape, suffix: "codable")
        let key = SampleRows.idempotencyKey(shape)
        let writer = try DatabaseQueue(path: environment.database.path)
        try await writer.write { db in
            try CodableRecord(rows.customer).insert(db)
            try CodableRecord(rows.paymentMethod).insert(db)
            try db.execute(
                sql: "INSERT INTO card_vault (payment_method, key_id, sealed) VALUES (?, ?, ?)",
                arguments: [rows.paymentMethod.id, rows.card.keyID, rows.card.sealed]
            )
            try CodableRecord(rows.intent).insert(db)
            try CodableRecord(rows.charge).insert(db)
            try CodableRecord(rows.refund).insert(db)
            try CodableRecord(key).insert(db)
        }
        // When the store reads them
        let (read, readKey) = try await environment.database.read { tx in
            (try rows.readBack(in: tx), try tx.idempotencyKey(apiKey: key.apiKey, key: key.key))
        }
        // Then they are the values written
        #expect(read == rows)
        #expect(readKey == key)
    }

    @Test("The store writes every column as they did, inserting or updating", arguments: SampleRows.Shape.allCases)
    func sameColumns(_ shape: SampleRows.Shape) async throws {
        // Given rows inserted in `shape`, and rows saved in `shape` over the other one
        let environment = try TestEnvironment()
        let database = environment.database
        let inserted = SampleRows(shape, suffix: "inserted")
        let previous = SampleRows(shape == .full ? .bare : .full, suffix: "updated")
        let updated = SampleRows(shape, suffix: "updated")
        let saved = try await database.write { tx in
            try inserted.insert(in: tx)
            try previous.insert(in: tx)
            return try updated.update(over: previous, in: tx)
        }
        #expect(saved)
        // Then every column holds what Codable records would have written
        let raw = try StoreFixtures.rawConnection(database.path)
        try await raw.read { db in
            for rows in [inserted, updated] {
                try expectCodableColumns(rows.customer, db)
                // `type` has no property: it keeps its default, as Codable records left it.
                try expectCodableColumns(rows.paymentMethod, db, defaults: ["type": "card".databaseValue])
                try expectCodableColumns(rows.intent, db)
                try expectCodableColumns(rows.charge, db)
                try expectCodableColumns(rows.refund, db)
                let vault = try Row.fetchOne(
                    db,
                    sql: "SELECT key_id, typeof(sealed) AS type, sealed FROM card_vault WHERE payment_method = ?",
                    arguments: [rows.paymentMethod.id]
                )
                #expect(vault == ["key_id": rows.card.keyID, "type": "blob", "sealed": rows.card.sealed])
            }
        }
    }

    @Test("The store writes an idempotency key's columns as they did, inserting or taking it over")
    func idempotencyKeyColumns() async throws {
        let database = try TestEnvironment().database
        /// The row the request holding `key` with `token` proceeds with.
        func begin(_ key: String, _ token: String, now: Int64, expiresAt: Int64?) async throws -> IdempotencyKey {
            let begun = try await database.write { tx in
                try tx.beginIdempotentRequest(
                    apiKey: "scope",
                    key: key,
                    method: "POST",
                    path: "/v1/x",
                    fingerprint: "f",
                    requestID: "req_" + token,
                    token: token,
                    now: now,
                    lockedUntil: now + 30,
                    expiresAt: expiresAt
                )
            }
            guard case .proceed(let row) = begun else { throw Unexpected(begun) }
            return row
        }
        // Given a key inserted without expiry, and one taken over with every reference once its lease ran out
        let inserted = try await begin("forever", "t0", now: 100, expiresAt: nil)
        _ = try await begin("taken", "t1", now: 100, expiresAt: 86_500)
        try await database.write { tx in
            try tx.markIdempotentProgress(
                apiKey: "scope",
                key: "taken",
                token: "t1",
                point: .refundRecorded,
                paymentIntent: "pi_x",
                charge: "ch_x",
                refund: "re_x"
            )
        }
        let taken = try await begin("taken", "t2", now: 200, expiresAt: 86_500)
        // Then every column holds what Codable records would have written
        let raw = try StoreFixtures.rawConnection(database.path)
        try await raw.read { db in
            try expectCodableColumns(inserted, db)
            try expectCodableColumns(taken, db)
        }
    }

    @Test("Saving a row that is not there throws, as GRDB's update did")
    func updateMissingRow() async throws {
        let environment = try TestEnvironment()
        let rows = SampleRows(.bare, suffix: "missing")
        await #expect(throws: RecordError.self) {
            try await environment.database.write { tx in try tx.update(rows.charge) }
        }
        await #expect(throws: RecordError.self) {
            try await environment.database.write { tx in try tx.update(rows.customer) }
        }
    }

    /// Expects the row of `value` to hold exactly the columns GRDB's Codable records write for it, plus `defaults`
    /// for the table's columns that have no property.
    private func expectCodableColumns<Value: Encodable & TableRecord>(
        _ value: Value,
        _ db: Database,
        defaults: [String: DatabaseValue] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let expected = try CodableRecord(value).databaseDictionary.merging(defaults) { $1 }
        let primaryKey = try db.primaryKey(Value.databaseTableName).columns
        let row = try #require(
            try Row.fetchOne(
                db,
                sql: "SELECT * FROM \(Value.databaseTableName) WHERE "
                    + primaryKey.map { "\($0) = ?" }.joined(separator: " AND "),
                arguments: StatementArguments(primaryKey.map { expected[$0] })
            ),
            sourceLocation: sourceLocation
        )
        let stored = Dictionary(uniqueKeysWithValues: row.map { ($0, $1) })
        #expect(stored == expected, "\(Value.databaseTableName)", sourceLocation: sourceLocation)
    }
}

/// What a step returned when the test expected something else.
struct Unexpected<Value: Sendable>: Error {
    let value: Value

    init(_ value: Value) {
        self.value = value
    }
}

/// `value` persisted by GRDB's Codable records, as the store wrote its rows before it wrote its own SQL: the same
/// `RecordEncoder`, with GRDB's default JSON encoder for nested values.
struct CodableRecord<Value: Encodable & TableRecord>: Encodable, PersistableRecord {
    static var databaseTableName: String { Value.databaseTableName }
    let value: Value

    init(_ value: Value) {
        self.value = value
    }

    func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
    }
}
