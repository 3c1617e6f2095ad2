import Foundation
import GRDB
import PaymentsCore
import PaymentsStore
import TestSupport
import Testing

/// A save of a row the same write transaction read or inserted writes only the columns that changed: SQLite then
/// updates only the indexes and checks only the constraints of those columns. A trigger `AFTER UPDATE OF column`
/// fires only when an UPDATE sets that column, so these tests see which columns each save wrote.
@Suite("Saves write only what changed")
struct PartialSaveTests {
    /// A database whose `payment_intents` and `payment_methods` log, in `written`, each UPDATE (`any`) and each one
    /// that sets `amount`, `status`, `customer` or `metadata`.
    static func loggingDatabase() throws -> (TestEnvironment, DatabaseQueue) {
        let environment = try TestEnvironment()
        let raw = try DatabaseQueue(path: environment.database.path)
        try raw.write { db in
            try db.execute(sql: "CREATE TABLE written (row TEXT NOT NULL, name TEXT NOT NULL)")
            for (table, columns) in [
                ("payment_intents", ["amount", "status"]), ("payment_methods", ["customer", "metadata"]),
            ] {
                try db.execute(
                    sql: """
                        CREATE TRIGGER \(table)_any AFTER UPDATE ON \(table)
                        BEGIN INSERT INTO written VALUES (new.id, 'any'); END
                        """
                )
                for column in columns {
                    try db.execute(
                        sql: """
                            CREATE TRIGGER \(table)_\(column) AFTER UPDATE OF \(column) ON \(table)
                            BEGIN INSERT INTO written VALUES (new.id, '\(column)'); END
                            """
                    )
                }
            }
        }
        return (environment, raw)
    }

    /// ``loggingDatabase()`` holding one intent in `requires_payment_method`, inserted by a transaction of its own.
    static func storedIntent() async throws -> (PaymentDatabase, DatabaseQueue, PaymentIntent) {
        let (environment, raw) = try loggingDatabase()
        let intent = StoreFixtures.intent()
        try await environment.database.write { tx in try tx.insert(intent) }
        return (environment.database, raw, intent)
    }

    /// What was logged for `row` since the last call, sorted, and the log emptied.
    static func written(_ raw: DatabaseQueue, _ row: String) throws -> [String] {
        try raw.write { db in
            defer { try? db.execute(sql: "DELETE FROM written") }
            return try String.fetchAll(
                db,
                sql: "SELECT name FROM written WHERE row = ? ORDER BY name",
                arguments: [row]
            )
        }
    }

    @Test("A save after a read in the same transaction sets only the changed columns, and the row reads back whole")
    func afterRead() async throws {
        // Given a stored intent
        let (database, raw, intent) = try await Self.storedIntent()

        // When a transaction reads it and saves a new status and metadata
        let saved = try await database.write { tx in
            var next = try #require(try tx.paymentIntent(intent.id))
            next.status = .canceled
            next.canceledAt = 2_000
            next.metadata = ["reason": "test"]
            return (next, try tx.update(next, expecting: .requiresPaymentMethod))
        }

        // Then it was saved, by one UPDATE that set the status but not the amount
        #expect(saved.1)
        #expect(try Self.written(raw, intent.id) == ["any", "status"])
        #expect(try await database.read { tx in try tx.paymentIntent(intent.id) } == saved.0)
    }

    @Test(
        "A row inserted and saved twice in one transaction is stored as last saved, each save setting its own changes"
    )
    func afterInsert() async throws {
        // Given an empty database
        let (environment, raw) = try Self.loggingDatabase()
        let database = environment.database
        let intent = StoreFixtures.intent()

        // When one transaction inserts an intent, changes its status, then its amount
        let last = try await database.write { tx in
            try tx.insert(intent)
            var next = intent
            next.status = .requiresConfirmation
            #expect(try tx.update(next, expecting: .requiresPaymentMethod))
            next.amount = 3_000
            #expect(try tx.update(next, expecting: .requiresConfirmation))
            return next
        }

        // Then the first save set the status only, the second the amount only
        #expect(try Self.written(raw, intent.id) == ["amount", "any", "any", "status"])
        #expect(try await database.read { tx in try tx.paymentIntent(intent.id) } == last)
    }

    @Test("A save of nothing new writes nothing, and still answers the compare-and-set")
    func nothingChanged() async throws {
        // Given a stored intent in requires_payment_method
        let (database, raw, intent) = try await Self.storedIntent()

        // When a transaction reads it and saves it unchanged, expecting its status, then another status
        let (right, wrong) = try await database.write { tx in
            let read = try #require(try tx.paymentIntent(intent.id))
            return (
                try tx.update(read, expecting: .requiresPaymentMethod),
                try tx.update(read, expecting: .requiresConfirmation)
            )
        }

        // Then no UPDATE ran; the first was saved (the row holds it), the second refused
        #expect(right)
        #expect(!wrong)
        #expect(try Self.written(raw, intent.id) == [])
    }

    @Test("A compare-and-set that loses after a read changes nothing")
    func lostCompareAndSet() async throws {
        // Given a stored intent in requires_payment_method
        let (database, raw, intent) = try await Self.storedIntent()

        // When a transaction reads it and saves a new amount expecting another status
        let saved = try await database.write { tx in
            var next = try #require(try tx.paymentIntent(intent.id))
            next.amount = 5_000
            return try tx.update(next, expecting: .processing)
        }

        // Then nothing was saved
        #expect(!saved)
        #expect(try await database.read { tx in try tx.paymentIntent(intent.id) } == intent)
        #expect(try Self.written(raw, intent.id) == [])
    }

    @Test("A save without a read in its transaction writes every column")
    func withoutRead() async throws {
        // Given a stored intent
        let (database, raw, intent) = try await Self.storedIntent()
        var canceled = intent
        canceled.status = .canceled
        let next = canceled

        // When another transaction saves a new status without reading the intent
        let saved = try await database.write { tx in try tx.update(next, expecting: .requiresPaymentMethod) }

        // Then the UPDATE set every column (the amount too), and the row is as saved
        #expect(saved)
        #expect(try Self.written(raw, intent.id) == ["amount", "any", "status"])
        #expect(try await database.read { tx in try tx.paymentIntent(intent.id) } == next)
    }

    @Test("Rows changed by other statements of the transaction are saved whole, as given")
    func changedByOtherStatements() async throws {
        // Given a customer with a saved card, and an intent
        let (environment, _) = try Self.loggingDatabase()
        let database = environment.database
        let customer = StoreFixtures.customer()
        let card = try CardNumber(parsing: "4242424242424242")
        let method = StoreFixtures.paymentMethod(card, customer: customer.id)
        let intent = StoreFixtures.intent()
        try await database.write { tx in
            try tx.insert(customer)
            try tx.insert(method, card: StoreFixtures.sealed(card))
            try tx.insert(intent)
        }

        // When one transaction reads the card, detaches the customer's cards, then saves the card as read with new
        // metadata; and reads the intent, saves a new amount in a batch, then saves it again with the amount it read
        let (savedMethod, savedIntent) = try await database.write { tx in
            var read = try #require(try tx.paymentMethod(method.id))
            try tx.detachPaymentMethods(ofCustomer: customer.id)
            read.metadata = ["after": "detach"]
            try tx.update(read)

            let before = try #require(try tx.paymentIntent(intent.id))
            var batched = before
            batched.amount = 4_000
            #expect(try tx.update(intents: [(intent: batched, before: before)]) == [intent.id])
            // The amount back to what was read, which the batch changed
            var last = before
            last.description = "saved after the batch"
            #expect(try tx.update(last, expecting: .requiresPaymentMethod))
            return (read, last)
        }

        // Then each is stored exactly as last saved: the card's customer as given (the detach's NULL overwritten by a
        // full save), the intent's amount as read (the batch's overwritten)
        #expect(try await database.read { tx in try tx.paymentMethod(method.id) } == savedMethod)
        #expect(try await database.read { tx in try tx.paymentIntent(intent.id) } == savedIntent)
    }
}
