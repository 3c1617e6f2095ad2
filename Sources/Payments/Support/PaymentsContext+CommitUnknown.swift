import Logging
import PaymentsCore

// MARK: - A commit whose outcome is not known

extension PaymentsContext {
    /// Runs `body` in a write transaction of a request that pays or refunds, whose commit makes a payment or a refund
    /// happen (a payment's first phase, which records the attempt the sweeper completes; a refund's reservation).
    /// When the connection ended while the commit was on its way (``StoreError/commitUnknown(_:)``), the error names
    /// what the request would have made, and a request without an idempotency key is told not to retry: its retry
    /// would be a second payment (or refund) beside the first, which the sweeper completes if it committed. It was a
    /// generic 500 with `Stripe-Should-Retry: true`, and a probe's client paid twice.
    func writeNaming<T: Sendable>(
        paymentIntent: String?,
        refund: String? = nil,
        keyed: Bool,
        _ body: @escaping @Sendable (any StoreTransaction) throws -> T
    ) async throws -> T {
        do {
            return try await database.write(body)
        } catch let error as StoreError {
            guard case .commitUnknown = error else { throw error }
            logger.error(
                "the database connection ended while a payment's write was being committed",
                metadata: ["payment_intent": "\(paymentIntent ?? "-")", "refund": "\(refund ?? "-")"]
            )
            throw PaymentError.commitUnknown(error, paymentIntent: paymentIntent, refund: refund, keyed: keyed)
        }
    }
}
