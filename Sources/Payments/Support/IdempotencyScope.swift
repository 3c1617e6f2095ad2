import Foundation
import PaymentsCore
import PaymentsStore
import Synchronization

/// The idempotency key a request runs under, handed to the use case so that its last transaction also saves
/// the response (the atomic phases of DESIGN.md): the outcome, the intent and the saved response commit
/// together, so a crash can never separate "charged" from "answered".
public final class IdempotencyScope: Sendable {
    /// The hashed API key (or keyless scope) and the client's key.
    public let apiKey: String
    public let key: String
    /// Where a previous try of this request stopped: the intent it created and the attempt it recorded.
    public let resumeIntent: String?
    public let resumeCharge: String?
    /// Renders the response for an outcome, inside the final transaction (so it reads that transaction's state).
    private let render:
        @Sendable (StoreTransaction, PaymentIntent, PaymentError?) throws -> (status: Int, body: [UInt8])
    private let saved = Mutex<(status: Int, body: [UInt8])?>(nil)

    /// Creates a scope.
    public init(
        apiKey: String,
        key: String,
        resumeIntent: String?,
        resumeCharge: String?,
        _ render:
            @escaping @Sendable (StoreTransaction, PaymentIntent, PaymentError?) throws -> (status: Int, body: [UInt8])
    ) {
        self.apiKey = apiKey
        self.key = key
        self.resumeIntent = resumeIntent
        self.resumeCharge = resumeCharge
        self.render = render
    }

    /// The response saved by the final transaction, once it committed.
    public var savedResponse: (status: Int, body: [UInt8])? { saved.withLock { $0 } }

    /// Renders and saves the response in `tx`. The bytes are kept to be sent once `tx` commits.
    func finish(_ tx: StoreTransaction, intent: PaymentIntent, error: PaymentError?) throws {
        let response = try render(tx, intent, error)
        try tx.finishIdempotentRequest(apiKey: apiKey, key: key, status: response.status, body: .init(response.body))
        saved.withLock { $0 = response }
    }

    /// Records progress in `tx`.
    func mark(_ tx: StoreTransaction, _ point: IdempotencyKey.RecoveryPoint, intent: String?, charge: String? = nil)
        throws
    {
        try tx.markIdempotentProgress(apiKey: apiKey, key: key, point: point, paymentIntent: intent, charge: charge)
    }
}
