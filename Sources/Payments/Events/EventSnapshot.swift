import Foundation
import PaymentsCore

/// The JSON snapshot an event keeps of a PaymentIntent or a Charge, written by hand.
///
/// `JSONEncoder` boxes every field into an intermediate tree before writing it: for the sweeper, which records
/// two events per expired attempt, that was the largest cost of a pass after SQLite itself (`perf record -g` of
/// `payments sweep`: `JSONEncoder.encode` 12.5% of the samples). This writes the same fields under the same keys
/// (the types' `CodingKeys`), omitting nil ones as the synthesized `Encodable` does, straight into bytes, so the
/// snapshot decodes with `JSONDecoder` into an equal value (`EventSnapshotTests` checks both types field by field
/// against `JSONEncoder`'s output). Other objects keep `JSONEncoder`.
enum EventSnapshot {
    /// `JSONEncoder` for the snapshots of the other objects (customers, cards, refunds, setup intents), keys sorted:
    /// Foundation's encoder writes an object's keys in its dictionary's order, which changes from one process to the
    /// next, so the same customer was stored as different text by two runs (a probe comparing two databases' events).
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    /// `intent` as JSON.
    static func json(_ intent: PaymentIntent) -> [UInt8] {
        var w = Writer()
        w.field("id", intent.id)
        w.field("created", intent.created)
        w.field("amount", intent.amount)
        w.field("currency", intent.currency)
        w.field("status", intent.status.rawValue)
        w.field("capture_method", intent.captureMethod.rawValue)
        w.field("confirmation_method", intent.confirmationMethod.rawValue)
        w.field("client_secret", intent.clientSecret)
        w.field("customer", intent.customer)
        w.field("payment_method", intent.paymentMethod)
        w.field("description", intent.description)
        w.field("receipt_email", intent.receiptEmail)
        w.field("statement_descriptor", intent.statementDescriptor)
        w.field("statement_descriptor_suffix", intent.statementDescriptorSuffix)
        w.field("metadata", intent.metadata)
        w.field("shipping", intent.shipping)
        w.field("setup_future_usage", intent.setupFutureUsage?.rawValue)
        w.field("amount_capturable", intent.amountCapturable)
        w.field("amount_received", intent.amountReceived)
        w.field("latest_charge", intent.latestCharge)
        if let error = intent.lastPaymentError {
            w.key("last_payment_error")
            w.object(error)
        }
        w.field("canceled_at", intent.canceledAt)
        w.field("cancellation_reason", intent.cancellationReason?.rawValue)
        w.field("return_url", intent.returnURL)
        w.field("off_session", intent.offSession)
        w.field("authenticated_payment_method", intent.authenticatedPaymentMethod)
        w.field("authentication_token", intent.authenticationToken)
        w.field("attempt_expires_at", intent.attemptExpiresAt)
        w.field("succeeded_at", intent.succeededAt)
        w.field("authorized_at", intent.authorizedAt)
        w.field("origin", intent.origin.rawValue)
        return w.finish()
    }

    /// `charge` as JSON.
    static func json(_ charge: Charge) -> [UInt8] {
        var w = Writer()
        w.field("id", charge.id)
        w.field("created", charge.created)
        w.field("payment_intent", charge.paymentIntent)
        w.field("payment_method", charge.paymentMethod)
        w.field("customer", charge.customer)
        w.field("amount", charge.amount)
        w.field("currency", charge.currency)
        w.field("status", charge.status.rawValue)
        w.field("capture", charge.capture)
        w.field("captured", charge.captured)
        w.field("amount_captured", charge.amountCaptured)
        w.field("amount_refunded", charge.amountRefunded)
        w.field("failure_code", charge.failureCode)
        w.field("failure_message", charge.failureMessage)
        w.field("decline_code", charge.declineCode)
        w.field("off_session", charge.offSession)
        w.field("three_d_secure", charge.threeDSecure)
        w.field("authorization_code", charge.authorizationCode)
        w.field("resolved_at", charge.resolvedAt)
        w.field("description", charge.description)
        w.field("metadata", charge.metadata)
        w.field("receipt_email", charge.receiptEmail)
        w.field("statement_descriptor", charge.statementDescriptor)
        w.field("statement_descriptor_suffix", charge.statementDescriptorSuffix)
        w.field("shipping", charge.shipping)
        w.field("risk_level", charge.riskLevel?.rawValue)
        w.field("cvc_check", charge.cvcCheck?.rawValue)
        w.field("address_line1_check", charge.addressLine1Check?.rawValue)
        w.field("address_postal_code_check", charge.addressPostalCodeCheck?.rawValue)
        return w.finish()
    }

    /// `charge` as JSON with `refunds`, the first page of its refunds (``ChargeSnapshotRefunds``), after its fields.
    /// Refunds are few and rare next to charges: `JSONEncoder` writes them, with the coding keys their own events'
    /// snapshots have.
    static func json(_ charge: Charge, refunds: Page<Refund>) throws -> [UInt8] {
        var bytes = json(charge)
        let list = try encoder.encode(ChargeSnapshotRefunds(data: refunds.items, hasMore: refunds.hasMore))
        bytes.removeLast()  // the closing brace
        bytes.append(contentsOf: #","refunds":"#.utf8)
        bytes.append(contentsOf: list)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    // MARK: - Writer

    /// Appends one JSON object's members to a byte buffer.
    struct Writer {
        private(set) var bytes: [UInt8]
        private var first = true

        init() {
            bytes = []
            // An intent's snapshot is about 1 KB; one allocation up front instead of a few doublings.
            bytes.reserveCapacity(1024)
            bytes.append(UInt8(ascii: "{"))
        }

        /// Closes the object and returns its bytes.
        mutating func finish() -> [UInt8] {
            bytes.append(UInt8(ascii: "}"))
            return bytes
        }

        /// Starts the member `name` (a literal that needs no escaping).
        mutating func key(_ name: StaticString) {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            bytes.append(UInt8(ascii: "\""))
            name.withUTF8Buffer { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }

        mutating func field(_ name: StaticString, _ value: String?) {
            guard let value else { return }
            key(name)
            string(value)
        }

        mutating func field(_ name: StaticString, _ value: Int64?) {
            guard let value else { return }
            key(name)
            bytes.append(contentsOf: String(value).utf8)
        }

        mutating func field(_ name: StaticString, _ value: Bool) {
            key(name)
            if value { bytes.append(contentsOf: "true".utf8) } else { bytes.append(contentsOf: "false".utf8) }
        }

        mutating func field(_ name: StaticString, _ value: [String: String]) {
            key(name)
            bytes.append(UInt8(ascii: "{"))
            // Sorted, so equal metadata is equal bytes (JSONEncoder's order is the dictionary's).
            for (index, (key, value)) in value.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                string(key)
                bytes.append(UInt8(ascii: ":"))
                string(value)
            }
            bytes.append(UInt8(ascii: "}"))
        }

        /// A nested `shipping`, with `Shipping`'s and `Address`'s coding keys; nothing when nil (most intents have
        /// none).
        mutating func field(_ name: StaticString, _ value: Shipping?) {
            guard let value else { return }
            key(name)
            var nested = Writer()
            nested.key("address")
            var address = Writer()
            address.field("city", value.address.city)
            address.field("country", value.address.country)
            address.field("line1", value.address.line1)
            address.field("line2", value.address.line2)
            address.field("postal_code", value.address.postalCode)
            address.field("state", value.address.state)
            nested.bytes.append(contentsOf: address.finish())
            nested.field("carrier", value.carrier)
            nested.field("name", value.name)
            nested.field("phone", value.phone)
            nested.field("tracking_number", value.trackingNumber)
            bytes.append(contentsOf: nested.finish())
        }

        /// A nested `last_payment_error`, with `LastPaymentError`'s coding keys.
        mutating func object(_ error: LastPaymentError) {
            var nested = Writer()
            nested.field("type", error.type.rawValue)
            nested.field("code", error.code)
            nested.field("decline_code", error.declineCode)
            nested.field("message", error.message)
            nested.field("param", error.param)
            nested.field("payment_method", error.paymentMethod)
            nested.field("charge", error.charge)
            bytes.append(contentsOf: nested.finish())
        }

        /// A JSON string: quotes, backslashes and control characters escaped; everything else as its UTF-8.
        mutating func string(_ value: String) {
            JSONString.append(value, to: &bytes)
        }
    }
}
