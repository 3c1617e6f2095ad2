/// A capture or a release of an intent's authorization that the card network was asked for (or is about to be),
/// whose answer is not recorded yet: written on the intent before the network is asked, cleared when the intent
/// leaves `requires_capture`. A process that dies between the network's answer and its record (or whose record the
/// store kept refusing until it stopped) leaves it, and the sweeper asks the network again under the same
/// `reference` and records the answer, with what the request asked for (the capture's metadata and statement
/// descriptors, the cancel's reason). Before, the intent showed `requires_capture` over a capture or a release the
/// network had made, until another capture or cancel of it, or the 7-day rule, found out.
public struct SettlementRequest: Codable, Sendable, Equatable {
    /// What the network was asked to do.
    public enum Operation: String, Codable, Sendable {
        case capture
        case release
    }

    public var operation: Operation
    /// The reference the network knows the request by (``CardNetwork/capture(attemptID:amount:reference:)``).
    public var reference: String
    /// When it was asked (unix seconds): the sweeper leaves a request younger than its grace period to its process.
    public var requestedAt: Int64
    /// A capture's amount.
    public var amount: Int64?
    /// A capture's metadata changes (a key mapped to null is removed).
    public var metadata: [String: String?]?
    /// A capture's statement descriptors for its charge.
    public var statementDescriptor: String?
    public var statementDescriptorSuffix: String?
    /// A cancel's reason.
    public var reason: CancellationReason?

    /// A capture of `amount`.
    public static func capture(
        amount: Int64,
        reference: String,
        at now: Int64,
        metadata: [String: String?]?,
        statementDescriptor: String?,
        statementDescriptorSuffix: String?
    ) -> SettlementRequest {
        SettlementRequest(
            operation: .capture,
            reference: reference,
            requestedAt: now,
            amount: amount,
            metadata: metadata,
            statementDescriptor: statementDescriptor,
            statementDescriptorSuffix: statementDescriptorSuffix
        )
    }

    /// A release, for a cancel with `reason`.
    public static func release(reference: String, at now: Int64, reason: CancellationReason?) -> SettlementRequest {
        SettlementRequest(operation: .release, reference: reference, requestedAt: now, reason: reason)
    }

    public enum CodingKeys: String, CodingKey {
        case operation, reference, amount, metadata, reason
        case requestedAt = "requested_at"
        case statementDescriptor = "statement_descriptor"
        case statementDescriptorSuffix = "statement_descriptor_suffix"
    }
}
