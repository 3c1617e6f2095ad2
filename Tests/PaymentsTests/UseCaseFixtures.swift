import Foundation
import GRDB
import Payments
import PaymentsCore
import PaymentsStore
import TestSupport

/// Shorthands the use-case tests share, over a real SQLite ``TestEnvironment`` with a fixed clock
/// (2026-01-01T00:00:00Z), so every card below is valid and none has expired.
extension TestEnvironment {
    /// Creates a card payment method, valid until 12/2030, with a CVC unless told otherwise.
    func card(_ number: String, cvc: String? = "123") async throws -> PaymentMethod {
        try await paymentMethods.create(
            .init(card: .init(number: number, expMonth: 12, expYear: 2030, cvc: cvc))
        )
    }

    /// Creates an intent for `amount` USD with `paymentMethod` and confirms it at once.
    func pay(
        _ paymentMethod: String,
        amount: Int64 = 2_000,
        customer: String? = nil,
        captureMethod: CaptureMethod = .automatic,
        confirmationMethod: ConfirmationMethod = .automatic,
        setupFutureUsage: SetupFutureUsage? = nil,
        offSession: Bool? = nil,
        returnURL: String? = nil
    ) async throws -> PaymentIntent {
        try await intents.create(
            .init(
                amount: amount,
                currency: "usd",
                customer: customer,
                paymentMethod: paymentMethod,
                confirm: true,
                captureMethod: captureMethod,
                confirmationMethod: confirmationMethod,
                setupFutureUsage: setupFutureUsage,
                offSession: offSession,
                returnURL: returnURL
            )
        )
    }

    /// A new customer.
    func customer() async throws -> Customer {
        try await customers.create(.init(email: "jenny@example.com"))
    }

    /// The charge with `id`.
    func charge(_ id: String?) async throws -> Charge? {
        guard let id else { return nil }
        return try await database.read { tx in try tx.charge(id) }
    }

    /// The payment method with `id`.
    func storedPaymentMethod(_ id: String?) async throws -> PaymentMethod? {
        guard let id else { return nil }
        return try await database.read { tx in try tx.paymentMethod(id) }
    }

    /// The number of rows of `table`, counted on a separate connection.
    func count(_ table: String) throws -> Int {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: database.path, configuration: configuration)
        return try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? -1 }
    }

    /// The approved authorizations in the network's ledger: the charges that really happened.
    func approvedAtNetwork() throws -> Int { try network.approvedCount() }
}

extension AuthorizationRequest {
    /// A 2,000 usd on-session authorization of `card`, captured at once: the request the tests that talk to a
    /// network directly send.
    static func sample(_ attemptID: String, card: CardNumber, now: Int64) -> AuthorizationRequest {
        AuthorizationRequest(
            attemptID: attemptID,
            card: card,
            expiry: CardExpiry(unvalidatedMonth: 12, year: 2030),
            cvcProvided: true,
            amount: 2_000,
            currency: "usd",
            capture: true,
            offSession: false,
            authenticated: false,
            offSessionReady: false,
            now: now
        )
    }
}
