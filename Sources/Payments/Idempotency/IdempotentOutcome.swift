import PaymentsCore

/// What a use case that saves its own answer (every money-moving one, and a card's create) ended with, handed to the
/// caller's encoder inside the use case's final transaction: the encoder turns it into the bytes saved with the
/// idempotency key (and later sent), without reading the store itself.
public enum IdempotentOutcome: Sendable {
    /// A PaymentIntent in its new state, read with its related objects in the final transaction; `error` is the
    /// card or state error the request answers with, and `errorPaymentMethod` the payment method it names.
    case paymentIntent(Lookup.IntentBundle, error: PaymentError?, errorPaymentMethod: PaymentMethod?)
    /// A refund in its new state.
    case refund(Refund)
    /// A payment method just made (`POST /v1/payment_methods`), as it is stored.
    case paymentMethod(PaymentMethod)
}
