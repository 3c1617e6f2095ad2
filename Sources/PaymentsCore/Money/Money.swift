/// An amount of money: an integer count of the currency's minor units (cents for `usd`, yen for `jpy`).
///
/// Money is never a floating-point number anywhere in the service; `amount` is exactly what Stripe's API and our
/// tables carry. Encoded as `{"amount": 1000, "currency": "usd"}`.
public struct Money: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The amount in the currency's minor unit.
    public var amount: Int64
    /// The currency the amount is in.
    public var currency: Currency

    /// Creates an amount of money.
    ///
    /// - Parameters:
    ///   - amount: the amount in `currency`'s minor unit (1000 = 10.00 USD; 10 = ¥10).
    ///   - currency: the currency.
    public init(amount: Int64, currency: Currency) {
        self.amount = amount
        self.currency = currency
    }

    /// The amount as text, such as `$10.00`; see `Currency.formatted(_:)`.
    public var description: String { currency.formatted(amount) }
}

// MARK: - Charge limits

extension Money {
    /// Checks that `amount` may be charged in `currency`, as Stripe does when a PaymentIntent is created or its
    /// amount changes.
    ///
    /// - Parameters:
    ///   - amount: the requested amount in minor units.
    ///   - currency: the charge currency.
    /// - Returns: the amount as `Money`.
    /// - Throws: `AmountError.notPositive` for zero or less, `.tooSmall` below the currency's minimum,
    ///   `.tooLarge` above its maximum, and `.notSettleable` for an amount ``checkPrecision(_:currency:)`` refuses.
    public static func validateCharge(amount: Int64, currency: Currency) throws(AmountError) -> Money {
        guard amount > 0 else { throw .notPositive }
        guard amount >= currency.minimumChargeAmount else {
            throw .tooSmall(minimum: Money(amount: currency.minimumChargeAmount, currency: currency))
        }
        guard amount <= currency.maximumChargeAmount else {
            throw .tooLarge(maximum: Money(amount: currency.maximumChargeAmount, currency: currency))
        }
        try checkPrecision(amount, currency: currency)
        return Money(amount: amount, currency: currency)
    }

    /// Checks that `amount` in `currency` can be settled (``Currency/settlementMultiple``): Stripe asks an amount in
    /// a three-decimal currency (`bhd jod kwd omr tnd`) to end in 0, for its payment partners, and one in `isk` or
    /// `ugx` (whole units sent as two-decimal amounts) to end in 00, in every call that moves money (a charge, a
    /// capture, a refund).
    /// - Throws: `AmountError.notSettleable`.
    public static func checkPrecision(_ amount: Int64, currency: Currency) throws(AmountError) {
        if !amount.isMultiple(of: currency.settlementMultiple) { throw .notSettleable(currency) }
    }
}
