import Crypto
import Foundation
import PaymentsCore
import Synchronization

/// The idempotency key a money-moving request runs under, handed to its use case: the use case records its
/// recovery points and saves its response through it, in the same transactions as the work they describe (the
/// atomic phases of DESIGN.md), so a crash can never separate "charged" from "answered".
///
/// Every write names the lease's token and fails with ``PaymentError/idempotencyLeaseLost(key:)`` (rolling its
/// transaction back) once another request has taken the key over.
public final class IdempotencyScope: Sendable {
    /// Turns a use case's outcome into the bytes to save and send.
    public typealias Encoder = @Sendable (IdempotentOutcome) throws -> SavedResponse

    /// The request's hold on the key, and where an earlier try stopped.
    public let lease: IdempotencyLease
    private let encode: Encoder
    /// The related objects the encoder shows expanded (Stripe's `expand[]` names); only those are read.
    private let expand: Set<String>
    private let saved = Mutex<SavedResponse?>(nil)
    /// A response rendered before its transaction, for the intent it shows (``prepare(_:)``).
    private let prepared = Mutex<(intent: PaymentIntent, response: SavedResponse)?>(nil)

    /// Creates a scope for a request holding `lease`, whose responses `encode` renders, expanding `expand`.
    public init(lease: IdempotencyLease, expand: Set<String> = Lookup.expandable, encode: @escaping Encoder) {
        self.lease = lease
        self.expand = expand
        self.encode = encode
    }

    /// The intent an earlier try of this request created.
    public var resumeIntent: String? { lease.resumeIntent }
    /// The charge attempt an earlier try recorded.
    public var resumeCharge: String? { lease.resumeCharge }
    /// The refund an earlier try reserved.
    public var resumeRefund: String? { lease.resumeRefund }

    /// The name of this request at the card network where a request names itself (a capture): the same for every
    /// try under this key, and nobody else's. The key's scope and text, hashed (the ledger keeps neither).
    public var networkReference: String {
        let digest = SHA256.hash(data: Data((lease.apiKey + "\n" + lease.key).utf8))
        return "key_" + digest.prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    /// The response saved by the use case's final transaction, once that transaction has committed (never
    /// before: bytes that are not durable are never sent as the key's answer).
    public var savedResponse: SavedResponse? { saved.withLock { $0 } }

    /// Saves the response for `intent` (and the `error` the request answers with) in `tx`, and records `intent` as
    /// the key's intent: a request that creates an intent and finishes in the same transaction needs no progress
    /// mark of its own.
    func finish(_ tx: any StoreTransaction, intent: PaymentIntent, error: PaymentError?) throws {
        if error == nil, let response = prepared.withLock({ $0?.intent == intent ? $0?.response : nil }) {
            try save(tx, response, paymentIntent: intent.id)
            return
        }
        let bundle = try Lookup.bundle(for: intent, in: tx, expand: expand)
        let errorPaymentMethod = try error?.paymentMethod.flatMap { try tx.paymentMethod($0) }
        try save(
            tx,
            try encode(.paymentIntent(bundle, error: error, errorPaymentMethod: errorPaymentMethod)),
            paymentIntent: intent.id
        )
    }

    /// Renders, ahead of the transaction that saves it, the response ``finish(_:intent:error:)`` would save for
    /// `intent` without an error, so that the single writer does not spend its time on it. `finish` saves these
    /// bytes only for an intent equal to this one: the response is a function of the intent alone when it needs no
    /// read (``Lookup/bundleWithoutReads(for:expand:)``; with expanded objects nothing is prepared).
    func prepare(_ intent: PaymentIntent) {
        guard let bundle = Lookup.bundleWithoutReads(for: intent, expand: expand),
            let response = try? encode(.paymentIntent(bundle, error: nil, errorPaymentMethod: nil))
        else { return }
        prepared.withLock { $0 = (intent, response) }
    }

    /// Saves the response for `refund` in `tx`.
    func finish(_ tx: any StoreTransaction, refund: Refund) throws {
        try save(tx, try encode(.refund(refund)))
    }

    /// Saves `response` in `tx`: an answer rendered before the transaction by ``encoded(_:)`` (a card's create).
    func finish(_ tx: any StoreTransaction, response: SavedResponse) throws {
        try save(tx, response)
    }

    /// The response for `outcome`, rendered outside any transaction (the single writer need not spend its time on
    /// it) where nothing the transaction writes can change it.
    func encoded(_ outcome: IdempotentOutcome) throws -> SavedResponse { try encode(outcome) }

    /// Records progress in `tx`.
    func mark(
        _ tx: any StoreTransaction,
        _ point: IdempotencyKey.RecoveryPoint,
        intent: String? = nil,
        charge: String? = nil,
        refund: String? = nil
    ) throws {
        do {
            try tx.markIdempotentProgress(
                apiKey: lease.apiKey,
                key: lease.key,
                token: lease.token,
                point: point,
                paymentIntent: intent,
                charge: charge,
                refund: refund
            )
        } catch is IdempotencyLeaseLost {
            throw PaymentError.idempotencyLeaseLost(key: lease.key)
        }
    }

    private func save(_ tx: any StoreTransaction, _ response: SavedResponse, paymentIntent: String? = nil) throws {
        try IdempotencyKeys.save(response, under: lease, in: tx, paymentIntent: paymentIntent)
        tx.afterCommit { self.saved.withLock { $0 = response } }
    }
}
