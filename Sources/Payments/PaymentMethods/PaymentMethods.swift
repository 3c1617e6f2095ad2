import PaymentsCore
import PaymentsStore

/// Creating and reading card payment methods: validates the card, seals its number in the vault, and keeps only
/// what may be shown.
public struct PaymentMethods: Sendable {
    let context: PaymentsContext

    /// Creates the use case.
    public init(context: PaymentsContext) { self.context = context }

    /// Raw card details as collected from the customer. Lives in memory only.
    public struct CardInput: Sendable {
        public var number: String
        public var expMonth: Int
        public var expYear: Int
        public var cvc: String?

        /// Creates card input.
        public init(number: String, expMonth: Int, expYear: Int, cvc: String?) {
            self.number = number
            self.expMonth = expMonth
            self.expYear = expYear
            self.cvc = cvc
        }
    }

    /// The parameters of `POST /v1/payment_methods`.
    public struct CreateInput: Sendable {
        public var card: CardInput
        public var billingDetails: BillingDetails
        public var metadata: [String: String]

        /// Creates input.
        public init(card: CardInput, billingDetails: BillingDetails = BillingDetails(), metadata: [String: String] = [:]) {
            self.card = card
            self.billingDetails = billingDetails
            self.metadata = metadata
        }
    }

    /// Creates a card payment method.
    /// - Throws: a 402 card error for a malformed number, a Luhn failure, a live card in test mode, a bad expiry
    ///   or CVC; nothing is stored then.
    public func create(_ input: CreateInput) async throws -> PaymentMethod {
        let now = context.clock.now()
        let card: CardNumber
        do {
            card = try CardNumber(parsing: input.card.number)
        } catch .invalidNumber {
            throw PaymentError.card(code: "invalid_number", message: "Your card number is invalid.", param: "card[number]")
        } catch {
            throw PaymentError.card(code: "incorrect_number", message: "Your card number is incorrect.", param: "card[number]")
        }
        guard let testCard = TestCards.card(forNumber: card.digits) else {
            let decline = TestCards.liveModeCardDecline
            throw PaymentError.card(code: decline.code, declineCode: decline.declineCode, message: decline.message)
        }
        let expiry: CardExpiry
        do {
            expiry = try CardExpiry(month: input.card.expMonth, year: input.card.expYear, nowUnixSeconds: now)
        } catch .invalidExpiryMonth {
            throw PaymentError.card(
                code: "invalid_expiry_month",
                message: "Your card's expiration month is invalid.",
                param: "card[exp_month]"
            )
        } catch {
            throw PaymentError.card(
                code: "invalid_expiry_year",
                message: "Your card's expiration year is invalid.",
                param: "card[exp_year]"
            )
        }
        if let cvc = input.card.cvc {
            do {
                try CardVerificationCode.validate(cvc, brand: card.brand)
            } catch {
                throw PaymentError.card(code: "invalid_cvc", message: "Your card's security code is invalid.", param: "card[cvc]")
            }
        }
        let paymentMethod = PaymentMethod(
            id: context.ids.paymentMethod(),
            created: now,
            brand: testCard.brand.rawValue,
            last4: card.last4,
            expMonth: expiry.month,
            expYear: expiry.year,
            fingerprint: context.database.vault.fingerprint(card),
            funding: testCard.funding.rawValue,
            country: testCard.country,
            cvcCheck: input.card.cvc == nil ? nil : CheckResult.unchecked.rawValue,
            billingDetails: input.billingDetails,
            metadata: input.metadata
        )
        try await context.database.write { tx in try tx.insert(paymentMethod, card: card) }
        return paymentMethod
    }

    /// Retrieves a payment method; Stripe's magic test ids (`pm_card_visa`, ...) make a new one each time.
    /// - Parameter param: the request parameter that named it, or nil when it is the URL's object.
    public func resolve(_ id: String, param: String?) async throws -> PaymentMethod {
        if let testCard = TestCards.card(forMagicPaymentMethodID: id) {
            return try await materialize(testCard)
        }
        let found = try await context.database.read { tx in try tx.paymentMethod(id) }
        guard let found else {
            throw PaymentError.resourceMissing("PaymentMethod", id: id, param: param ?? "payment_method", inURL: param == nil)
        }
        return found
    }

    /// A new payment method for a test card, as Stripe materialises its magic ids: any future expiry, a CVC.
    func materialize(_ testCard: TestCard) async throws -> PaymentMethod {
        let now = context.clock.now()
        let expiry = try CardExpiry(month: 12, year: UTCYearMonth(unixSeconds: now).year + 3, nowUnixSeconds: now)
        return try await create(
            CreateInput(
                card: CardInput(number: testCard.number, expMonth: expiry.month, expYear: expiry.year, cvc: testCard.brand == .amex ? "1234" : "123")
            )
        )
    }
}
