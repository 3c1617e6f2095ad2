import Foundation
import GRDB
import TestSupport
import Testing

/// `payments vault rotate` with the built binary: killed with SIGKILL halfway and run again to the end, then the
/// saved cards charged off-session by a server that has only the new key; and a rotation beside a running server
/// that keeps charging saved cards throughout.
@Suite("Vault key rotation, end to end")
struct VaultRotationTests {
    /// Test cards that succeed off-session without authentication, of several brands (each twice: two saved
    /// cards of one number share a fingerprint).
    static let cards = [
        "4242424242424242", "5555555555554444", "6011111111111117", "4242424242424242", "5555555555554444",
        "6011111111111117",
    ]

    /// A new random vault key: 32 bytes, base64.
    static func newVaultKey() -> String {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    }

    /// A saved card: its customer, payment method and fingerprint.
    struct Saved: Sendable {
        let customer: String
        let paymentMethod: String
        let fingerprint: String
        let number: String
    }

    /// Saves each of `numbers` for a customer of its own (a card attached to the customer, as a checkout's "save
    /// this card" leaves it).
    static func saveCards(_ numbers: [String], on server: ServerProcess) async throws -> [Saved] {
        var saved: [Saved] = []
        for number in numbers {
            let customer = try await server.client.postForm("/v1/customers", [], auth: server.secret)
            let id = try #require(try customer.json()["id"]?.string, "\(customer)")
            let pm = try await server.createPaymentMethod(card: number)
            let attached = try await server.client.postForm(
                "/v1/payment_methods/\(pm)/attach",
                [("customer", id)],
                auth: server.secret
            )
            try #require(attached.status == 200, "\(attached)")
            let fingerprint = try #require(try attached.json()["card"]?["fingerprint"]?.string, "\(attached)")
            saved.append(Saved(customer: id, paymentMethod: pm, fingerprint: fingerprint, number: number))
        }
        return saved
    }

    /// Charges a saved card off-session, as `payments recharge` does.
    static func chargeOffSession(_ card: Saved, on server: ServerProcess) async throws -> HTTPAnswer {
        try await server.client.postForm(
            "/v1/payment_intents",
            [
                ("amount", "1200"), ("currency", "usd"), ("customer", card.customer),
                ("payment_method", card.paymentMethod), ("off_session", "true"), ("confirm", "true"),
            ],
            auth: server.secret
        )
    }

    /// How many cards each vault key id sealed, and the fingerprint keys' key id, read from the database.
    static func vaultState(_ folder: URL) throws -> (cards: [String: Int], secrets: String?) {
        try Ledgers(folder: folder).read("payments.sqlite") { db in
            let rows = try Row.fetchAll(db, sql: "SELECT key_id, count(*) AS n FROM card_vault GROUP BY key_id")
            let secrets = try String.fetchOne(db, sql: "SELECT key_id FROM vault_secrets")
            return (Dictionary(uniqueKeysWithValues: rows.map { ($0["key_id"] as String, $0["n"] as Int) }), secrets)
        }
    }

    /// Runs `payments vault rotate` on `folder`'s database with `environment`.
    static func rotate(
        _ folder: URL,
        environment: [String: String],
        batchSize: Int = 2
    ) async throws -> (termination: Termination, output: String) {
        try await runToCompletion(
            try PaymentsBinary.path(),
            // On PostgreSQL (its URL in `environment`) no `--db`, which a command refuses beside it
            ["vault", "rotate", "--batch-size", String(batchSize)]
                + (environment["PAYMENTS_DATABASE_URL"] == nil
                    ? ["--db", folder.appendingPathComponent("payments.sqlite").path] : []),
            environment: PaymentsBinary.environment(environment),
            in: folder,
            timeout: .seconds(120)
        )
    }

    @Test("rotate killed halfway, run again: every card under the new key, charged off-session with only that key")
    func killedHalfwayThenFinished() async throws {
        let (keyA, keyB) = (Self.newVaultKey(), Self.newVaultKey())
        // Given saved cards sealed under key A
        let first = try await ServerProcess.start(environment: ["PAYMENTS_VAULT_KEY": keyA])
        defer { first.kill() }
        let saved = try await Self.saveCards(Self.cards, on: first)
        _ = await first.stop()
        let before = try Self.vaultState(first.folder)
        let idA = try #require(before.cards.keys.first, "\(before)")
        #expect(before.cards == [idA: Self.cards.count] && before.secrets == idA, "\(before)")
        let both = ["PAYMENTS_VAULT_KEY": keyB, "PAYMENTS_VAULT_OLD_KEYS": keyA]

        // When a rotation to B dies (SIGKILL) after its first batch of two
        var faulted = both
        faulted["PAYMENTS_FAULT_POINT"] = "after-rotate-batch"
        let killed = try await Self.rotate(first.folder, environment: faulted)
        #expect(killed.termination == Termination(reason: .uncaughtSignal, status: SIGKILL), "\(killed)")
        let halfway = try Self.vaultState(first.folder)
        let idB = try #require(halfway.cards.keys.first { $0 != idA }, "\(halfway)")
        #expect(halfway.cards == [idA: Self.cards.count - 2, idB: 2], "\(halfway)")

        // Then running it again goes on where it stopped, and a third run has nothing left to do
        let finished = try await Self.rotate(first.folder, environment: both)
        #expect(finished.termination.isCleanExit, "\(finished.output)")
        #expect(
            finished.output.contains("cards rotated:                  \(Self.cards.count - 2)"),
            "\(finished.output)"
        )
        #expect(finished.output.contains("cards already current:          2"), "\(finished.output)")
        #expect(finished.output.contains("cards that could not be opened: 0"), "\(finished.output)")
        let after = try Self.vaultState(first.folder)
        #expect(after.cards == [idB: Self.cards.count] && after.secrets == idB, "\(after)")
        let again = try await Self.rotate(first.folder, environment: both)
        #expect(again.termination.isCleanExit && again.output.contains("cards rotated:                  0"))
        for card in Set(Self.cards) {
            #expect(!killed.output.contains(card) && !finished.output.contains(card) && !again.output.contains(card))
        }

        // And a server with only key B charges every saved card off-session, and fingerprints a card as before
        let server = try await ServerProcess.start(
            folder: first.folder,
            keys: first.keys,
            environment: ["PAYMENTS_VAULT_KEY": keyB]
        )
        defer { server.kill() }
        for card in saved {
            let charge = try await Self.chargeOffSession(card, on: server)
            #expect(charge.status == 200, "\(charge)\n\(server.diagnostics)")
            #expect(try charge.json()["status"]?.string == "succeeded", "\(charge)")
        }
        let again4242 = try await server.client.postForm(
            "/v1/payment_methods",
            [
                ("type", "card"), ("card[number]", saved[0].number), ("card[exp_month]", "12"),
                ("card[exp_year]", "2034"),
            ],
            auth: server.secret
        )
        #expect(try again4242.json()["card"]?["fingerprint"]?.string == saved[0].fingerprint, "\(again4242)")
        let end = try Self.vaultState(first.folder)
        #expect(end.cards == [idB: Self.cards.count + 1] && end.cards[idA] == nil, "\(end)")
        server.kill()
        server.removeFiles()
    }

    @Test("a server with both keys keeps charging saved cards while the rotation runs beside it")
    func rotationBesideRunningServer() async throws {
        let (keyA, keyB) = (Self.newVaultKey(), Self.newVaultKey())
        let first = try await ServerProcess.start(environment: ["PAYMENTS_VAULT_KEY": keyA])
        defer { first.kill() }
        let saved = try await Self.saveCards(Array(repeating: Self.cards, count: 5).flatMap { $0 }, on: first)
        _ = await first.stop()
        // Given a server restarted with B as the current key and A as an old one
        let both = ["PAYMENTS_VAULT_KEY": keyB, "PAYMENTS_VAULT_OLD_KEYS": keyA]
        let server = try await ServerProcess.start(folder: first.folder, keys: first.keys, environment: both)
        defer { server.kill() }

        // When a rotation runs, one card per transaction, while the server charges saved cards in turn
        let done = Shared(false)
        let rotation = Task {
            defer { done.withLock { $0 = true } }
            // each batch waits 100 ms after its commit, so the rotation (25 cards) outlasts a charge even when a
            // loaded machine starts the charges late
            let paused = both.merging(
                ["PAYMENTS_FAULT_POINT": "after-rotate-batch", "PAYMENTS_FAULT_ACTION": "pause"]
            ) { $1 }
            return try await Self.rotate(server.folder, environment: paused, batchSize: 1)
        }
        var charged = 0
        var chargedWhileRotating = 0
        var failures: [String] = []
        repeat {
            let running = !done.withLock { $0 }
            let charge = try await Self.chargeOffSession(saved[charged % saved.count], on: server)
            if charge.status == 200, try charge.json()["status"]?.string == "succeeded" {
                charged += 1
                if running && !done.withLock({ $0 }) { chargedWhileRotating += 1 }
            } else {
                failures.append("\(charge)")
                break
            }
        } while !done.withLock { $0 }
        let result = try await rotation.value

        // Then every charge succeeded, the rotation finished cleanly, and every card is under B
        #expect(failures.isEmpty, "\(failures)\n\(server.diagnostics)")
        #expect(chargedWhileRotating > 0, "no charge completed while the rotation ran")
        #expect(result.termination.isCleanExit, "\(result.output)")
        let state = try Self.vaultState(server.folder)
        #expect(state.cards.count == 1 && state.cards.values.first == saved.count, "\(state)")
        #expect(state.secrets == state.cards.keys.first, "\(state)")
        // and the cards still charge after it
        for card in saved.prefix(3) {
            let charge = try await Self.chargeOffSession(card, on: server)
            #expect(charge.status == 200, "\(charge)")
        }
        server.kill()
        server.removeFiles()
    }

    @Test(
        "vault status counts the cards under each key when the configured keys do not open the database, then says so"
    )
    func statusWithoutTheKey() async throws {
        // Given cards sealed under key A
        let (keyA, keyB) = (Self.newVaultKey(), Self.newVaultKey())
        let first = try await ServerProcess.start(environment: ["PAYMENTS_VAULT_KEY": keyA])
        defer { first.kill() }
        _ = try await Self.saveCards(Array(Self.cards.prefix(2)), on: first)
        _ = await first.stop()
        let keyAID = try #require(try Self.vaultState(first.folder).secrets)

        // When `vault status` runs with only key B configured (the server's 500 for a card under a key it lacks
        // points to it)
        let run = try await runToCompletion(
            try PaymentsBinary.path(),
            ["vault", "status", "--db", first.db.path],
            environment: PaymentsBinary.environment(["PAYMENTS_VAULT_KEY": keyB]),
            in: first.folder,
            timeout: .seconds(60)
        )

        // Then it lists the cards under the key that is not configured (it exited 1 with the error alone), then
        // says the configured keys do not open this database, and exits 1
        #expect(run.termination == Termination(reason: .exit, status: 1), "\(run)")
        #expect(run.output.contains("key \(keyAID) (not configured): 2 cards"), "\(run.output)")
        #expect(run.output.contains("current key vk_"), "\(run.output)")
        #expect(run.output.contains("neither PAYMENTS_VAULT_KEY nor PAYMENTS_VAULT_OLD_KEYS opens"), "\(run.output)")
    }

    @Test("a card no configured key opens: rotate exits 1 naming its payment method, and prints no card data")
    func unreadableCardNamed() async throws {
        let (keyA, keyB) = (Self.newVaultKey(), Self.newVaultKey())
        let first = try await ServerProcess.start(environment: ["PAYMENTS_VAULT_KEY": keyA])
        defer { first.kill() }
        let saved = try await Self.saveCards(Array(Self.cards.prefix(3)), on: first)
        _ = await first.stop()
        // Given one card whose row names a key nobody has (as a card sealed under a key since lost)
        let lost = saved[1].paymentMethod
        try await DatabaseQueue(path: first.db.path).write { db in
            try db.execute(
                sql: "UPDATE card_vault SET key_id = 'vk_000000000000' WHERE payment_method = ?",
                arguments: [lost]
            )
        }
        // When the vault is rotated to B
        let run = try await Self.rotate(
            first.folder,
            environment: ["PAYMENTS_VAULT_KEY": keyB, "PAYMENTS_VAULT_OLD_KEYS": keyA]
        )
        // Then it exits 1 naming that payment method, after rotating the others
        #expect(run.termination == Termination(reason: .exit, status: 1), "\(run)")
        #expect(run.output.contains("cards that could not be opened: 1"), "\(run.output)")
        #expect(run.output.contains(lost), "\(run.output)")
        #expect(run.output.contains("cards rotated:                  2"), "\(run.output)")
        for card in saved { #expect(!run.output.contains(card.number)) }

        // And another card's sealed bytes damaged since (zeroed in place, under the current key)
        let damaged = saved[2].paymentMethod
        try await DatabaseQueue(path: first.db.path).write { db in
            try db.execute(
                sql: "UPDATE card_vault SET sealed = zeroblob(length(sealed)) WHERE payment_method = ?",
                arguments: [damaged]
            )
        }

        // And a server with both keys charges the others, while that card's charge is a 500 naming the missing key
        // (it said only "An unknown error occurred."), with nothing charged and the key free for a retry
        let server = try await ServerProcess.start(
            folder: first.folder,
            keys: first.keys,
            environment: ["PAYMENTS_VAULT_KEY": keyB, "PAYMENTS_VAULT_OLD_KEYS": keyA]
        )
        defer { server.kill() }
        #expect(try await Self.chargeOffSession(saved[0], on: server).json()["status"]?.string == "succeeded")
        let refused = try await Self.chargeOffSession(saved[1], on: server)
        #expect(refused.status == 500, "\(refused)")
        let message = try refused.json()["error"]?["message"]?.string ?? ""
        #expect(
            message.contains("vault key vk_000000000000") && message.contains("PAYMENTS_VAULT_OLD_KEYS"),
            "\(message)"
        )
        #expect(!message.contains(saved[1].number))
        let charged = try await server.client.get(
            "/v1/payment_intents",
            query: [("customer", saved[1].customer)],
            auth: server.secret
        )
        #expect(try charged.json()["data"]?.array?.isEmpty == true, "\(charged)")

        // And the damaged card's charge is a 500 naming its payment method and the damage, not CryptoKit's error code
        // behind "An unknown error occurred.", with nothing charged
        let broken = try await Self.chargeOffSession(saved[2], on: server)
        #expect(broken.status == 500, "\(broken)")
        let said = try broken.json()["error"]?["message"]?.string ?? ""
        #expect(said.contains(damaged) && said.contains("damaged") && !said.contains(saved[2].number), "\(said)")
        let brokenCharged = try await server.client.get(
            "/v1/payment_intents",
            query: [("customer", saved[2].customer)],
            auth: server.secret
        )
        #expect(try brokenCharged.json()["data"]?.array?.isEmpty == true, "\(brokenCharged)")
        server.kill()
        first.removeFiles()
    }
}
