import Foundation
import PaymentsCore

/// One row of each type a store keeps, linked to each other as the service links them (a refund of a charge of an
/// intent paid with a customer's payment method), in one of two shapes: every optional field set, or none.
///
/// A store must read back every field of every shape exactly as written, inserted or updated; the SQLite store's
/// tests also check that rows written by its earlier Codable records read back equal.
public struct SampleRows: Sendable, Equatable {
    /// Which fields are set.
    public enum Shape: String, Sendable, CaseIterable, CustomStringConvertible {
        /// Every optional field set and every Bool the other way from its default; nested values hold unicode,
        /// quotes, backslashes and slashes.
        case full
        /// Every optional field nil and every nested value empty.
        case bare

        public var description: String { rawValue }
    }

    public var customer: Customer
    public var paymentMethod: PaymentMethod
    public var card: SealedCard
    public var intent: PaymentIntent
    public var charge: Charge
    public var refund: Refund

    /// Rows of `shape` whose ids end with `suffix`: the same suffix gives the same ids in both shapes, so that one
    /// shape can be saved over the other.
    public init(_ shape: Shape, suffix: String) {
        let full = shape == .full
        customer = Customer(id: "cus_" + suffix, created: 100)
        paymentMethod = PaymentMethod(
            id: "pm_" + suffix,
            created: 101,
            brand: "visa",
            last4: "4242",
            expMonth: 12,
            expYear: 2030,
            fingerprint: "fp_" + suffix,
            funding: "credit",
            country: nil,
            cvcCheck: nil
        )
        card = SealedCard(keyID: "vk_1", sealed: Data([0, 1, 2, 250, 255]))
        intent = PaymentIntent(
            id: "pi_" + suffix,
            created: 102,
            amount: 2_000,
            currency: "usd",
            clientSecret: "pi_\(suffix)_secret_x"
        )
        charge = Charge.attempt(id: "ch_" + suffix, for: intent, paymentMethod: nil, at: 103)
        refund = Refund(
            id: "re_" + suffix,
            created: 104,
            charge: charge.id,
            paymentIntent: intent.id,
            amount: 500,
            currency: "usd",
            reason: nil,
            metadata: [:]
        )
        if full { fill() }
    }

    /// Metadata no encoding may change: unicode, quotes, a backslash, a slash and an empty value.
    public static let trickyMetadata = [
        "order": "42",
        "note": "ünïcode \"quoted\" 💳 \\ / 'single'",
        "ключ": "значение",
        "empty": "",
    ]

    /// Sets every optional field (and the Bools the other way) of the rows.
    private mutating func fill() {
        customer.email = "jenny@example.com"
        customer.name = "Jenny \"J\" Rosén"
        customer.phone = "+15555550100"
        customer.description = "VIP / ☂"
        customer.metadata = Self.trickyMetadata
        customer.defaultPaymentMethod = paymentMethod.id
        customer.deleted = true
        customer.address = Address(
            city: "Saint-Étienne",
            country: "FR",
            line1: "1 rue de l'Église",
            line2: "Bât. \"B\" \\ /",
            postalCode: "42000",
            state: "Loire"
        )
        customer.shipping = Shipping(address: Address(line1: "2 quai \"Nord\""), name: "Jenny ☂", phone: "+33 4")

        paymentMethod.customer = customer.id
        paymentMethod.country = "FR"
        paymentMethod.cvcCheck = "pass"
        paymentMethod.addressLine1Check = "fail"
        paymentMethod.addressPostalCodeCheck = "unavailable"
        paymentMethod.billingDetails = BillingDetails(
            address: BillingDetails.Address(
                city: "Saint-Étienne",
                country: "FR",
                line1: "1 rue de l'Église",
                line2: "Bât. \"B\"",
                postalCode: "42000",
                state: "Loire"
            ),
            email: "jenny@example.com",
            name: "Jenny Rosén",
            phone: "+33 4 00 00 00 00"
        )
        paymentMethod.metadata = Self.trickyMetadata
        paymentMethod.reusable = false
        paymentMethod.offSessionReady = true

        intent.status = .requiresCapture
        intent.captureMethod = .manual
        intent.confirmationMethod = .manual
        intent.customer = customer.id
        intent.paymentMethod = paymentMethod.id
        intent.description = "Order 42 — \"T-shirt\""
        intent.receiptEmail = "jenny@example.com"
        intent.statementDescriptor = "SHOP"
        intent.statementDescriptorSuffix = "42"
        intent.metadata = Self.trickyMetadata
        intent.shipping = Shipping(
            address: Address(city: "Zürich", country: "CH", line1: "Bahnhofstr. 1", postalCode: "8001"),
            carrier: "DHL \"Express\"",
            name: "Jenny Rosén",
            phone: "+41 44 000 00 00",
            trackingNumber: "JD01, JD02"
        )
        intent.setupFutureUsage = .offSession
        intent.amountCapturable = 1_500
        intent.amountReceived = 500
        intent.latestCharge = charge.id
        intent.lastPaymentError = LastPaymentError(
            type: .card,
            code: "card_declined",
            declineCode: "insufficient_funds",
            message: "Your card has insufficient funds. « Réessayez »",
            param: "payment_method",
            paymentMethod: paymentMethod.id,
            charge: "ch_earlier"
        )
        intent.canceledAt = 150
        intent.cancellationReason = .requestedByCustomer
        intent.returnURL = "https://shop.example/return?a=1&b=%22x%22"
        intent.offSession = true
        intent.authenticatedPaymentMethod = paymentMethod.id
        intent.authenticationToken = "tok_x"
        intent.attemptExpiresAt = 3_700
        intent.succeededAt = 120
        intent.authorizedAt = 110
        intent.origin = .pay

        charge.paymentMethod = paymentMethod.id
        charge.customer = customer.id
        charge.status = .failed
        charge.capture = false
        charge.captured = true
        charge.amountCaptured = 1_500
        charge.amountRefunded = 500
        charge.failureCode = "card_declined"
        charge.failureMessage = "Your card was declined. « Non »"
        charge.declineCode = "generic_decline"
        charge.offSession = true
        charge.threeDSecure = "authenticated"
        charge.authorizationCode = "123456"
        charge.resolvedAt = 105
        charge.description = intent.description
        charge.metadata = Self.trickyMetadata
        charge.receiptEmail = intent.receiptEmail
        charge.statementDescriptor = intent.statementDescriptor
        charge.statementDescriptorSuffix = intent.statementDescriptorSuffix
        charge.shipping = intent.shipping
        charge.riskLevel = .elevated
        charge.cvcCheck = .pass
        charge.addressLine1Check = .fail
        charge.addressPostalCodeCheck = .unavailable
        charge.namedPaymentMethod = true

        refund.status = .failed
        refund.reason = .requestedByCustomer
        refund.metadata = Self.trickyMetadata
        refund.failureReason = "expired_or_canceled_card"
        refund.settlesAt = 164
    }

    /// Inserts the rows, each after those it references.
    public func insert(in tx: any StoreTransaction) throws {
        try tx.insert(customer)
        try tx.insert(paymentMethod, card: card)
        try tx.insert(intent)
        try tx.insert(charge)
        try tx.insert(refund)
    }

    /// Saves the rows over `previous`, rows with the same ids; the intent by a compare-and-set from `previous`'s
    /// status.
    /// - Returns: whether the compare-and-set passed.
    public func update(over previous: SampleRows, in tx: any StoreTransaction) throws -> Bool {
        try tx.update(customer)
        try tx.update(paymentMethod)
        let saved = try tx.update(intent, expecting: previous.intent.status)
        try tx.update(charge)
        try tx.update(refund)
        return saved
    }

    /// The rows with these ids as `tx` reads them, nil for any that is missing.
    public func readBack(in tx: any StoreTransaction) throws -> SampleRows? {
        guard
            let customer = try tx.customer(self.customer.id),
            let paymentMethod = try tx.paymentMethod(self.paymentMethod.id),
            let card = try tx.sealedCard(of: self.paymentMethod.id),
            let intent = try tx.paymentIntent(self.intent.id),
            let charge = try tx.charge(self.charge.id),
            let refund = try tx.refund(self.refund.id)
        else { return nil }
        var rows = self
        rows.customer = customer
        rows.paymentMethod = paymentMethod
        rows.card = card
        rows.intent = intent
        rows.charge = charge
        rows.refund = refund
        return rows
    }

    /// An idempotency key of `shape`. Stores only write the shapes their requests reach (see the conformance
    /// suite), so the full one also holds a lease and a response at once, as no request leaves it.
    public static func idempotencyKey(_ shape: Shape) -> IdempotencyKey {
        let full = shape == .full
        return IdempotencyKey(
            apiKey: "scope_" + shape.rawValue,
            key: "key \"\(shape)\" ü",
            created: 100,
            expiresAt: full ? 86_500 : nil,
            method: "POST",
            path: "/v1/payment_intents",
            fingerprint: "f",
            lockedBy: full ? "token" : nil,
            lockedUntil: full ? 130 : nil,
            recoveryPoint: full ? .refundRecorded : .started,
            paymentIntent: full ? "pi_x" : nil,
            charge: full ? "ch_x" : nil,
            refund: full ? "re_x" : nil,
            requestID: "req_1",
            responseStatus: full ? 402 : nil,
            responseBody: full ? Data("{\"error\":\"ü\"}".utf8) + Data([0, 255]) : nil
        )
    }
}
