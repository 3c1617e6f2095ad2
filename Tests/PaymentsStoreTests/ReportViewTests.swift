import Foundation
import GRDB
import Payments
import PaymentsCore
import PaymentsStore
import TestSupport
import Testing

/// The `report_*` views against a scripted mix of payments made through the use cases: each view's rows equal
/// what the stored intents, charges and refunds add up to, computed here in Swift.
@Suite("Report views")
struct ReportViewTests {
    /// One day in seconds.
    static let day: Int64 = 86_400
    /// A card that needs 3-D Secure on-session (4000002500003155).

    /// What the script leaves behind, read back from the database file.
    struct Stored {
        var intents: [PaymentIntent]
        var charges: [Charge]
        var refunds: [Refund]
        var paymentMethods: [String: PaymentMethod]
    }

    // MARK: - The script

    /// The shared two days of payments (``ReportScript``), and a refund still pending at the network, which counts
    /// nowhere yet.
    static func script() async throws -> TestEnvironment {
        let made = try await ReportScript.twoDays()
        try insertPendingRefund(made.environment, of: made.paidWithCustomer, amount: 100)
        return made.environment
    }

    /// Test-only SQL: a pending refund row, as a crash between the refund's two phases leaves one.
    static func insertPendingRefund(_ environment: TestEnvironment, of intent: PaymentIntent, amount: Int64) throws {
        let queue = try DatabaseQueue(path: environment.database.path)
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO refunds (id, created, charge, payment_intent, amount, currency, status)
                    VALUES ('re_test_pending', ?, ?, ?, ?, ?, 'pending')
                    """,
                arguments: [environment.clock.now, intent.latestCharge, intent.id, amount, intent.currency]
            )
        }
    }

    /// Everything the script stored, read on a separate read-only connection.
    static func stored(_ environment: TestEnvironment) throws -> Stored {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: environment.database.path, configuration: configuration)
        return try queue.read { db in
            Stored(
                intents: try PaymentIntent.fetchAll(db, sql: "SELECT * FROM payment_intents ORDER BY rowid"),
                charges: try Charge.fetchAll(db, sql: "SELECT * FROM charges ORDER BY rowid"),
                refunds: try Refund.fetchAll(db),
                paymentMethods: Dictionary(uniqueKeysWithValues: try PaymentMethod.fetchAll(db).map { ($0.id, $0) })
            )
        }
    }

    // MARK: - Days and cells

    /// `YYYY-MM-DD` of unix seconds, in UTC.
    static func day(_ seconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` of unix seconds.
    static func time(_ seconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    static func text(_ value: String?) -> ReportValue { value.map(ReportValue.text) ?? .null }
    static func integer(_ value: Int64) -> ReportValue { .integer(value) }
    static func integer(_ value: Int) -> ReportValue { .integer(Int64(value)) }

    /// Succeeded refunds per payment intent.
    static func refunded(_ stored: Stored) -> [String: Int64] {
        stored.refunds.filter { $0.status == .succeeded }.reduce(into: [:]) {
            $0[$1.paymentIntent, default: 0] += $1.amount
        }
    }

    // MARK: - Views

    @Test("report_daily_volume adds up the succeeded intents by the day they succeeded, less their refunds")
    func dailyVolume() async throws {
        // Given the script's payments
        let environment = try await Self.script()
        let stored = try Self.stored(environment)
        let refunded = Self.refunded(stored)
        // When the report runs
        let report = try await environment.database.report("daily_volume")
        // Then its rows are the sums of the succeeded intents
        struct Key: Hashable, Comparable {
            var day: String
            var currency: String
            static func < (a: Key, b: Key) -> Bool { (a.day, a.currency) < (b.day, b.currency) }
        }
        var sums: [Key: (payments: Int64, gross: Int64, refunded: Int64)] = [:]
        for intent in stored.intents where intent.status == .succeeded {
            let key = Key(day: Self.day(try #require(intent.succeededAt)), currency: intent.currency)
            var sum = sums[key] ?? (0, 0, 0)
            sum.payments += 1
            sum.gross += intent.amountReceived
            sum.refunded += refunded[intent.id] ?? 0
            sums[key] = sum
        }
        let expected: [[ReportValue]] = sums.keys.sorted().map { key in
            let sum = sums[key] ?? (0, 0, 0)
            return [
                .text(key.day), .text(key.currency), Self.integer(sum.payments), Self.integer(sum.gross),
                Self.integer(sum.refunded), Self.integer(sum.gross - sum.refunded),
            ]
        }
        #expect(report.columns == ["day", "currency", "payments", "gross_amount", "refunded_amount", "net_amount"])
        #expect(report.rows == expected)
        // And the figures the script was written to produce
        #expect(
            report.rows.contains([
                .text("2026-01-01"), .text("usd"), .integer(2), .integer(5_000), .integer(500), .integer(4_500),
            ])
        )
        #expect(
            report.rows.contains([
                .text("2026-01-02"), .text("usd"), .integer(1), .integer(4_000), .integer(0), .integer(4_000),
            ])
        )
        #expect(
            report.rows.contains([
                .text("2026-01-02"), .text("eur"), .integer(1), .integer(1_000), .integer(1_000), .integer(0),
            ])
        )
    }

    @Test("report_declines counts failed attempts by day and decline code, 3-D Secure failures by error code")
    func declines() async throws {
        let environment = try await Self.script()
        let stored = try Self.stored(environment)
        let report = try await environment.database.report("declines")
        var counts: [[String]: Int] = [:]
        for charge in stored.charges where charge.status == .failed {
            counts[[Self.day(charge.created), charge.declineCode ?? charge.failureCode ?? "unknown"], default: 0] += 1
        }
        let expected: [[ReportValue]] = counts.sorted { a, b in
            (a.key[0], -a.value, a.key[1]) < (b.key[0], -b.value, b.key[1])
        }
        .map { key, count in [.text(key[0]), .text(key[1]), Self.integer(count)] }
        #expect(report.columns == ["day", "decline_code", "attempts"])
        #expect(report.rows == expected)
        #expect(report.rows.contains([.text("2026-01-01"), .text("insufficient_funds"), .integer(1)]))
        #expect(
            report.rows.contains([.text("2026-01-01"), .text("payment_intent_authentication_failure"), .integer(1)])
        )
        #expect(
            // abandoned on the first day, expired by the second day's sweep: counted the day its window closed
            report.rows.contains([.text("2026-01-01"), .text("payment_intent_payment_attempt_expired"), .integer(1)])
        )
        #expect(report.rows.contains([.text("2026-01-02"), .text("insufficient_funds"), .integer(1)]))
    }

    @Test("report_open_intents counts the intents in no final state, by status and currency")
    func openIntents() async throws {
        let environment = try await Self.script()
        let stored = try Self.stored(environment)
        let report = try await environment.database.report("open_intents")
        var sums: [[String]: (count: Int, amount: Int64)] = [:]
        for intent in stored.intents where intent.status != .succeeded && intent.status != .canceled {
            let key = [intent.status.rawValue, intent.currency]
            sums[key] = ((sums[key]?.count ?? 0) + 1, (sums[key]?.amount ?? 0) + intent.amount)
        }
        let expected: [[ReportValue]] = sums.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { key, sum in
            [.text(key[0]), .text(key[1]), Self.integer(sum.count), Self.integer(sum.amount)]
        }
        #expect(report.columns == ["status", "currency", "intents", "amount"])
        #expect(report.rows == expected)
        // declined 1,500 + failed challenge 2,500 + no payment method 700 + expired 1,200 (USD); one EUR decline
        #expect(report.rows.contains([.text("requires_payment_method"), .text("usd"), .integer(4), .integer(5_900)]))
        #expect(report.rows.contains([.text("requires_capture"), .text("eur"), .integer(1), .integer(2_000)]))
        #expect(report.rows.contains([.text("requires_confirmation"), .text("usd"), .integer(1), .integer(900)]))
    }

    @Test("report_refunds_daily adds up the succeeded refunds by the day they were made")
    func refundsDaily() async throws {
        let environment = try await Self.script()
        let stored = try Self.stored(environment)
        let report = try await environment.database.report("refunds_daily")
        var sums: [[String]: (count: Int, amount: Int64)] = [:]
        for refund in stored.refunds where refund.status == .succeeded {
            let key = [Self.day(refund.created), refund.currency]
            sums[key] = ((sums[key]?.count ?? 0) + 1, (sums[key]?.amount ?? 0) + refund.amount)
        }
        let expected: [[ReportValue]] = sums.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { key, sum in
            [.text(key[0]), .text(key[1]), Self.integer(sum.count), Self.integer(sum.amount)]
        }
        #expect(report.columns == ["day", "currency", "refunds", "amount"])
        #expect(report.rows == expected)
        #expect(
            report.rows == [
                [.text("2026-01-02"), .text("eur"), .integer(1), .integer(1_000)],
                [.text("2026-01-02"), .text("usd"), .integer(1), .integer(500)],
            ]
        )
    }

    @Test("report_expiring_authorizations lists uncaptured authorizations, the soonest to expire first")
    func expiringAuthorizations() async throws {
        let environment = try await Self.script()
        let stored = try Self.stored(environment)
        let report = try await environment.database.report("expiring_authorizations")
        let expected: [[ReportValue]] = try stored.intents.filter { $0.status == .requiresCapture }
            .sorted { ($0.authorizedAt ?? 0) < ($1.authorizedAt ?? 0) }
            .map { intent in
                let authorizedAt = try #require(intent.authorizedAt)
                return [
                    .text(intent.id), Self.text(intent.customer), .text(intent.currency),
                    Self.integer(intent.amountCapturable), .text(Self.time(authorizedAt)),
                    .text(Self.time(authorizedAt + PaymentIntents.authorizationLifetime)),
                ]
            }
        #expect(
            report.columns == ["payment_intent", "customer", "currency", "amount", "authorized_at", "expires_at"]
        )
        #expect(report.rows == expected)
        #expect(report.rows.first?[5] == .text("2026-01-09T10:00:00Z"))
    }

    @Test("report_payments has one row per intent with its refunds, card and latest decline")
    func payments() async throws {
        let environment = try await Self.script()
        let stored = try Self.stored(environment)
        let refunded = Self.refunded(stored)
        let report = try await environment.database.report("payments")
        let charges = Dictionary(uniqueKeysWithValues: stored.charges.map { ($0.id, $0) })
        let expected: [[ReportValue]] = stored.intents.reversed().map { intent in
            let latest = intent.latestCharge.flatMap { charges[$0] }
            let card = (intent.paymentMethod ?? latest?.paymentMethod).flatMap { stored.paymentMethods[$0] }
            let lastFailure = stored.charges.last { $0.paymentIntent == intent.id && $0.status == .failed }
            return [
                .text(intent.id), .text(Self.day(intent.created)), .text(intent.status.rawValue),
                .text(intent.currency), Self.integer(intent.amount), Self.integer(intent.amountReceived),
                Self.integer(refunded[intent.id] ?? 0), Self.text(intent.customer), Self.text(intent.description),
                Self.text(card?.brand), Self.text(card?.last4),
                Self.text(lastFailure.map { $0.declineCode ?? $0.failureCode ?? "unknown" }),
            ]
        }
        #expect(
            report.columns == [
                "id", "created_day", "status", "currency", "amount", "amount_received", "refunded", "customer",
                "description", "brand", "last4", "decline_code",
            ]
        )
        #expect(report.rows.count == stored.intents.count)
        #expect(report.rows == expected)
        let order2 = try #require(report.records.first { $0["description"] == .text("Order 2") })
        #expect(order2["brand"] == .text("mastercard"))
        #expect(order2["last4"] == .text("4444"))
        #expect(order2["refunded"] == .integer(0))
    }

    // MARK: - Running reports by name

    @Test("The reports are exactly the report_* views")
    func names() async throws {
        let environment = try TestEnvironment()
        #expect(
            try await environment.database.reportNames() == [
                "daily_volume", "declines", "events_by_day", "expiring_authorizations", "open_intents", "payments",
                "refunds_daily",
            ]
        )
        #expect(try await environment.database.report("report_declines").name == "declines")
    }

    @Test(
        "A name that is not a report view is refused, whatever it holds",
        arguments: ["nope", "daily_volume; DROP TABLE charges", "charges", "sqlite_master", "\"report_declines\"", ""]
    )
    func unknownName(_ name: String) async throws {
        let environment = try TestEnvironment()
        let available = try await environment.database.reportNames()
        await #expect(throws: ReportError.unknownReport(name, available: available)) {
            try await environment.database.report(name)
        }
        // And nothing was run: the tables are all there
        #expect(try await environment.database.report("payments").rows.isEmpty)
    }

    @Test("An admin's own report view runs whatever its name holds, a double quote included")
    func quotedViewName() async throws {
        let environment = try TestEnvironment()
        // Given an admin's view whose name holds a double quote (its statement broke: `unrecognized token`)
        let queue = try DatabaseQueue(path: environment.database.path)
        try await queue.write { db in
            try db.execute(sql: #"CREATE VIEW "report_a""b" AS SELECT 1 AS one"#)
        }
        // When it is run, by the name --list prints
        #expect(try await environment.database.reportNames().contains(#"a"b"#))
        let report = try await environment.database.report(#"a"b"#)
        // Then it holds the view's row
        #expect(report.columns == ["one"] && report.rows.count == 1, "\(report)")
        // And the identifier is quoted as SQL quotes it
        #expect(SQLIdentifier.quoted(#"report_a"b"#) == #""report_a""b""#)
    }

    @Test("The read-only reader sees what the server's database sees")
    func readOnlyReader() async throws {
        let environment = try await Self.script()
        let reader = try ReportReader(path: environment.database.path)
        #expect(try reader.reportNames() == (try await environment.database.reportNames()))
        for name in try reader.reportNames() {
            #expect(try reader.report(name) == (try await environment.database.report(name)))
        }
    }

    @Test("The reader refuses a database that does not exist, without creating it")
    func missingDatabase() throws {
        let path = try TestPaths.temporaryFolder().appendingPathComponent("missing.sqlite").path
        #expect(throws: ReportError.databaseMissing(path)) { try ReportReader(path: path) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("The reader names the file and the problem for a folder or a file that is not a database")
    func unreadableDatabase() throws {
        let folder = try TestPaths.temporaryFolder()
        let text = folder.appendingPathComponent("notes.sqlite").path
        try Data(String(repeating: "not a database ", count: 40).utf8).write(to: URL(fileURLWithPath: text))
        // It said "SQLite error 26: file is not a database" and "SQLite error 10: disk I/O error"
        #expect(throws: ReportError.unreadable(text, "it is not an SQLite database.")) {
            try ReportReader(path: text).reportNames()
        }
        #expect(throws: ReportError.unreadable(folder.path, "it is a folder, not a database file.")) {
            try ReportReader(path: folder.path).reportNames()
        }
    }

    @Test("The reader says a database cut short is damaged (it printed SQLite's error 11 and its statement)")
    func damagedDatabase() async throws {
        let environment = try await Self.script()
        // Every page in the file itself (not in its log), then the file cut after its third page
        try await DatabaseQueue(path: environment.database.path).writeWithoutTransaction { db in
            _ = try db.checkpoint(.truncate)
        }
        let whole = try Data(contentsOf: URL(fileURLWithPath: environment.database.path))
        #expect(whole.count > 4096 * 6)
        let cut = try TestPaths.temporaryFolder().appendingPathComponent("cut.sqlite")
        try whole.prefix(4096 * 3).write(to: cut)
        #expect(throws: ReportError.unreadable(cut.path, "SQLite finds it damaged (cut short, or overwritten).")) {
            let reader = try ReportReader(path: cut.path)
            for name in try reader.reportNames() { _ = try reader.report(name) }
        }
    }
}
