import Hummingbird
import Payments
import PaymentsCore

extension StripeRequestContext {
    /// The idempotency scope for a use case that returns a PaymentIntent: its final transaction saves the
    /// response rendered with `options` (the same bytes the handler then sends).
    func intentScope(options: RenderOptions) -> IdempotencyScope? {
        scope(expand: options.expand) { outcome in
            guard case .paymentIntent(let bundle, let error, let errorPaymentMethod) = outcome else {
                throw PaymentError.apiError("This endpoint answers with a PaymentIntent.")
            }
            let intentJSON = StripeRenderer.paymentIntent(bundle, options: options)
            guard let error else { return SavedResponse(status: 200, body: intentJSON.serialized()) }
            let body = StripeRenderer.error(
                error,
                paymentIntent: intentJSON,
                paymentMethod: errorPaymentMethod.map { StripeRenderer.paymentMethod($0, options: options) }
            )
            return SavedResponse(status: error.status, body: body.serialized())
        }
    }

    /// The idempotency scope for a use case that returns a refund.
    func refundScope() -> IdempotencyScope? {
        scope { outcome in
            guard case .refund(let refund) = outcome else {
                throw PaymentError.apiError("This endpoint answers with a refund.")
            }
            return SavedResponse(status: 200, body: StripeRenderer.refund(refund).serialized())
        }
    }

    /// The idempotency scope for a card's create.
    func paymentMethodScope(options: RenderOptions) -> IdempotencyScope? {
        scope { outcome in
            guard case .paymentMethod(let paymentMethod) = outcome else {
                throw PaymentError.apiError("This endpoint answers with a PaymentMethod.")
            }
            return SavedResponse(
                status: 200,
                body: StripeRenderer.paymentMethod(paymentMethod, options: options).serialized()
            )
        }
    }

    /// An idempotency scope with its own encoder (for `/pay`'s answers); nil without an `Idempotency-Key`.
    func scope(expand: Set<String> = [], encode: @escaping IdempotencyScope.Encoder) -> IdempotencyScope? {
        guard let idempotency else { return nil }
        let scope = IdempotencyScope(lease: idempotency.lease, expand: expand, encode: encode)
        idempotency.holder.set(scope)
        return scope
    }
}

/// Runs a use case under an idempotency scope and answers with exactly the bytes its final transaction saved;
/// without a scope (or when nothing was saved), falls back to `render` and to throwing the error.
func respond<Value>(
    scope: IdempotencyScope?,
    _ body: () async throws -> Value,
    render: (Value) async throws -> Response
) async throws -> Response {
    do {
        let value = try await body()
        if let saved = scope?.savedResponse { return JSONResponse.bytes(saved) }
        return try await render(value)
    } catch let error as PaymentError {
        if let saved = scope?.savedResponse { return JSONResponse.bytes(saved) }
        throw error
    }
}
