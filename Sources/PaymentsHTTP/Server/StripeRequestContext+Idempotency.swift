import Hummingbird
import Payments
import PaymentsCore
import PaymentsStore

extension StripeRequestContext {
    /// The idempotency scope for a use case that returns a PaymentIntent: its final transaction saves the
    /// response rendered with `options` (the same bytes the handler then sends).
    func intentScope(options: RenderOptions) -> IdempotencyScope? {
        return scope { tx, intent, error in
            let bundle = try Lookup.bundle(for: intent, in: tx)
            let intentJSON = StripeRenderer.paymentIntent(bundle, options: options)
            guard let error else { return (200, intentJSON.serialized()) }
            let method = try error.paymentMethod.flatMap { try tx.paymentMethod($0) }
            let body = StripeRenderer.error(
                error,
                paymentIntent: intentJSON,
                paymentMethod: method.map { StripeRenderer.paymentMethod($0, options: options) }
            )
            return (error.status, body.serialized())
        }
    }

    /// An idempotency scope with its own rendering (for `/pay`'s answers).
    func scope(
        render:
            @escaping @Sendable (StoreTransaction, PaymentIntent, PaymentError?) throws -> (status: Int, body: [UInt8])
    ) -> IdempotencyScope? {
        guard let idempotency else { return nil }
        let scope = IdempotencyScope(
            apiKey: idempotency.apiKey,
            key: idempotency.key,
            resumeIntent: idempotency.resumeIntent,
            resumeCharge: idempotency.resumeCharge,
            render
        )
        idempotency.holder.set(scope)
        return scope
    }
}

/// Runs a use case under an idempotency scope and answers with exactly the bytes its final transaction saved;
/// without a scope (or when nothing was saved), falls back to `render` and to throwing the error.
func respond(
    scope: IdempotencyScope?,
    _ body: () async throws -> PaymentIntent,
    render: (PaymentIntent) async throws -> Response
) async throws -> Response {
    do {
        let intent = try await body()
        if let saved = scope?.savedResponse {
            return ResponseBuilder.bytes(saved.body, status: .init(code: saved.status))
        }
        return try await render(intent)
    } catch let error as PaymentError {
        if let saved = scope?.savedResponse {
            return ResponseBuilder.bytes(saved.body, status: .init(code: saved.status))
        }
        throw error
    }
}
