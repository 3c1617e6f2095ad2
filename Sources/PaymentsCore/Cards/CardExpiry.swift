/// A card's expiry month and four-digit year. A card is valid through the last second of its expiry month, UTC.
public struct CardExpiry: Hashable, Sendable {
    /// The expiry month, 1...12.
    public let month: Int
    /// The four-digit expiry year.
    public let year: Int

    /// How far ahead an expiry year may be. Stripe refuses years further out as `invalid_expiry_year`; real
    /// cards are issued for at most a few years, so 50 leaves room without accepting typos like 2205.
    public static let maximumYearsAhead = 50

    /// Validates an expiry date as a client sent it, at the time `nowUnixSeconds`.
    ///
    /// A year in 0...99 means 2000 + year (`34` is 2034; `95` is 2095, too far ahead). Rules, in order:
    /// month outside 1...12 → `.invalidExpiryMonth`; year before the current UTC year or more than
    /// `maximumYearsAhead` after it → `.invalidExpiryYear`; the current year with a month already over →
    /// `.invalidExpiryMonth` (the card has expired).
    ///
    /// - Parameters:
    ///   - month: the expiry month.
    ///   - year: the expiry year, four digits or two.
    ///   - nowUnixSeconds: the current time, from the caller's clock.
    /// - Throws: `CardExpiryError`.
    public init(month: Int, year: Int, nowUnixSeconds: Int64) throws(CardExpiryError) {
        guard (1...12).contains(month) else { throw .invalidExpiryMonth }
        let fullYear = (0...99).contains(year) ? 2000 + year : year
        let now = UTCYearMonth(unixSeconds: nowUnixSeconds)
        guard fullYear >= now.year, fullYear <= now.year + Self.maximumYearsAhead else { throw .invalidExpiryYear }
        guard fullYear > now.year || month >= now.month else { throw .invalidExpiryMonth }
        self.month = month
        self.year = fullYear
    }

    /// Rebuilds an expiry that was validated before, such as one read back from storage; checks nothing.
    ///
    /// - Parameters:
    ///   - month: the stored month, 1...12.
    ///   - year: the stored four-digit year.
    public init(unvalidatedMonth month: Int, year: Int) {
        self.month = month
        self.year = year
    }

    /// Whether the card has expired at `unixSeconds`: true from the first second after its expiry month (UTC).
    public func isExpired(atUnixSeconds unixSeconds: Int64) -> Bool {
        UTCYearMonth(unixSeconds: unixSeconds) > UTCYearMonth(year: year, month: month)
    }
}
