/// A currency Stripe can charge in, named by its lowercase ISO 4217 code (`usd`, `jpy`).
///
/// Only codes in Stripe's presentment list exist as values: `Currency(code:)` returns nil for anything else, so a
/// `Currency` in hand is always one the service can charge. The per-currency rules (minor unit, minimum and
/// maximum charge) follow Stripe's currency documentation; see `stripe-semantics.md` §1.3.
///
/// Encoded as a bare string (`"usd"`), the way Stripe's API and our tables spell it.
public struct Currency: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The lowercase ISO 4217 code, such as `usd`.
    public let code: String

    /// Creates the currency for `code`, in any letter case.
    ///
    /// - Parameter code: an ISO 4217 code such as `usd` or `USD`.
    /// - Returns: nil unless the code is one of Stripe's supported presentment currencies, spelled in ASCII letters
    ///   (Unicode's lowercasing makes the Kelvin sign `K` a `k`, so `\u{212A}RW` was taken for `krw`: a probe).
    public init?(code: String) {
        guard Self.isASCIILetters(code) else { return nil }
        let lowercased = code.lowercased()
        guard Self.supportedCodes.contains(lowercased) else { return nil }
        self.code = lowercased
    }

    /// Whether `text` is ASCII letters only, as every currency code is. Checked before anything lowercases a code:
    /// Unicode's lowercasing makes the Kelvin sign `K` a `k`.
    public static func isASCIILetters(_ text: String) -> Bool {
        text.utf8.allSatisfy { (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
    }

    /// Creates a currency from a code known to be in the supported list (the static constants).
    private init(known code: String) {
        self.code = code
    }

    public var description: String { code }

    // MARK: - Well-known currencies

    /// United States dollar.
    public static let usd = Currency(known: "usd")
    /// Euro.
    public static let eur = Currency(known: "eur")
    /// Japanese yen, a zero-decimal currency.
    public static let jpy = Currency(known: "jpy")
    /// Pound sterling.
    public static let gbp = Currency(known: "gbp")

    /// Every currency Stripe supports for card charges, sorted by code.
    public static let allSupported: [Currency] = supportedCodes.sorted().map { Currency(known: $0) }

    // MARK: - Minor units

    /// Whether amounts are whole units (`jpy`: 50 means ¥50).
    ///
    /// `isk` and `ugx` are zero-decimal in practice but Stripe's API still takes them as two-decimal amounts
    /// ending in `00`, so they are not in this list.
    public var isZeroDecimal: Bool { Self.zeroDecimalCodes.contains(code) }

    /// How many digits of an amount are fractional: 0 (zero-decimal), 3 (`bhd jod kwd omr tnd`) or 2.
    public var minorUnitDigits: Int {
        if isZeroDecimal { return 0 }
        if Self.threeDecimalCodes.contains(code) { return 3 }
        return 2
    }

    /// What every amount moved in this currency must be a multiple of: 10 for a three-decimal currency (its last
    /// digit 0), 100 for `isk` and `ugx` (whole units written as two-decimal amounts: 5 UGX is `500`), 1 otherwise.
    public var settlementMultiple: Int64 {
        if Self.wholeUnitsInTwoDecimalCodes.contains(code) { return 100 }
        return minorUnitDigits == 3 ? 10 : 1
    }

    // MARK: - Charge limits

    /// The smallest amount, in minor units, a charge in this currency may have.
    ///
    /// Stripe's table (§1.3) where it has the currency. Elsewhere Stripe's real rule is "the equivalent of
    /// USD 0.50 in the account's settlement currency", which a service without exchange rates cannot apply, so we
    /// use a nominal floor: 50 minor units (half a unit of a two-decimal currency); 50 whole units for zero-decimal
    /// currencies outside the table (worth less than USD 0.50 for every one of them, so we never refuse an amount
    /// Stripe would accept); and 500 for three-decimal currencies (0.500, again half a unit).
    public var minimumChargeAmount: Int64 {
        if let minimum = Self.minimumChargeAmounts[code] { return minimum }
        // `isk` and `ugx`: one whole unit (100), the smallest amount that ends in 00
        return minorUnitDigits == 3 ? 500 : max(50, settlementMultiple)
    }

    /// The largest amount, in minor units, a charge in this currency may have.
    ///
    /// Stripe allows eight digits (99,999,999: 999,999.99 of a two-decimal currency) for most currencies and more
    /// for a few whose units are small. Stripe does not publish every one of those limits, so the larger ones here
    /// are our choice: the smallest all-nines value that still admits roughly the dollar value of the eight-digit
    /// default (≈ USD 1M), except `idr`, which uses the twelve digits Stripe documents:
    /// - `jpy`: 999,999,999 (nine digits, ¥999,999,999).
    /// - `inr`: 9,999,999,999 (ten digits, ₹99,999,999.99).
    /// - `huf`: 99,999,999,999 (eleven digits, 999,999,999.99 HUF).
    /// - `idr`: 999,999,999,999 (twelve digits, Stripe's documented limit).
    /// - `cop`: 999,999,999,999 (twelve digits, 9,999,999,999.99 COP).
    /// - `lbp`: 9,999,999,999,999 (thirteen digits, 99,999,999,999.99 LBP).
    ///
    /// The largest amount the currency's ``settlementMultiple`` allows under that limit: 99,999,990 for `kwd`
    /// (99,999.990 KWD) and 99,999,900 for `isk` (999,999 ISK), where the refusal of 99,999,999 said "no more than
    /// 99,999.999 KWD", itself an amount that cannot be charged (a probe).
    public var maximumChargeAmount: Int64 {
        let limit = Self.maximumChargeAmounts[code] ?? Self.defaultMaximumChargeAmount
        return limit - limit % settlementMultiple
    }

    /// Stripe's default maximum: eight digits.
    public static let defaultMaximumChargeAmount: Int64 = 99_999_999

    // MARK: - Formatting

    /// Renders an amount for human-readable messages.
    ///
    /// The rule: currencies with a widely recognised symbol put it first (`usd` 50 → `$0.50`, `jpy` 50 → `¥50`,
    /// `eur` 1000 → `€10.00`); all others put the uppercase code after the number (`sek` 1000 → `10.00 SEK`).
    /// The integer part is grouped in thousands with commas, the fraction has `minorUnitDigits` digits, and a
    /// negative amount starts with `-` (`-$1.00`).
    ///
    /// - Parameter minorUnits: the amount in minor units.
    /// - Returns: the amount as text, for messages (not for parsing).
    public func formatted(_ minorUnits: Int64) -> String {
        // `isk` and `ugx` are whole units written as two-decimal amounts: 12300 is "123 ISK", as the checkout shows it
        // (the 3-D Secure page said "123.00 ISK" beside the checkout's "ISK 123": a probe)
        let wholeUnits = settlementMultiple == 100 && minorUnits.isMultiple(of: 100)
        let number =
            wholeUnits
            ? Self.decimalString(minorUnits.magnitude / 100, fractionDigits: 0)
            : Self.decimalString(minorUnits.magnitude, fractionDigits: minorUnitDigits)
        let sign = minorUnits < 0 ? "-" : ""
        if let symbol {
            return sign + symbol + number
        }
        return sign + number + " " + code.uppercased()
    }

    /// The symbol `formatted(_:)` puts before the number, or nil when it writes the code after it instead.
    ///
    /// These are the English-locale symbols of the common currencies; the `A$`/`CA$` forms keep dollars apart.
    public var symbol: String? { Self.symbols[code] }

    /// Writes `magnitude` minor units as a decimal with grouped thousands, such as `999,999.99`.
    private static func decimalString(_ magnitude: UInt64, fractionDigits: Int) -> String {
        var divisor: UInt64 = 1
        for _ in 0..<fractionDigits { divisor *= 10 }
        let whole = magnitude / divisor
        let fraction = magnitude % divisor

        var groups: [String] = []
        var rest = whole
        repeat {
            let group = rest % 1000
            rest /= 1000
            groups.append(rest > 0 ? leftPadded(group, width: 3) : String(group))
        } while rest > 0
        let wholeText = groups.reversed().joined(separator: ",")

        guard fractionDigits > 0 else { return wholeText }
        return wholeText + "." + leftPadded(fraction, width: fractionDigits)
    }

    /// `value` in decimal, left-padded with zeros to `width` digits.
    private static func leftPadded(_ value: UInt64, width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    // MARK: - Codable

    /// Decodes a currency from its code, failing for codes Stripe does not support.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        guard let currency = Currency(code: raw) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "Invalid currency: \(raw). Stripe currencies are three-letter ISO codes."
            )
        }
        self = currency
    }

    /// Encodes the currency as its lowercase code.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }
}

// MARK: - Tables

extension Currency {
    /// Stripe's presentment currencies for card payments (docs.stripe.com/currencies, 2024–2025 list), plus the
    /// three-decimal currencies Stripe's API accepts (`bhd jod kwd omr tnd`).
    static let supportedCodes: Set<String> = [
        "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn",
        "bam", "bbd", "bdt", "bgn", "bhd", "bif", "bmd", "bnd", "bob", "brl",
        "bsd", "bwp", "byn", "bzd", "cad", "cdf", "chf", "clp", "cny", "cop",
        "crc", "cve", "czk", "djf", "dkk", "dop", "dzd", "egp", "etb", "eur",
        "fjd", "fkp", "gbp", "gel", "gip", "gmd", "gnf", "gtq", "gyd", "hkd",
        "hnl", "htg", "huf", "idr", "ils", "inr", "isk", "jmd", "jod", "jpy",
        "kes", "kgs", "khr", "kmf", "krw", "kwd", "kyd", "kzt", "lak", "lbp",
        "lkr", "lrd", "lsl", "mad", "mdl", "mga", "mkd", "mmk", "mnt", "mop",
        "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok",
        "npr", "nzd", "omr", "pab", "pen", "pgk", "php", "pkr", "pln", "pyg",
        "qar", "ron", "rsd", "rub", "rwf", "sar", "sbd", "scr", "sek", "sgd",
        "shp", "sle", "sos", "srd", "std", "szl", "thb", "tjs", "tnd", "top",
        "try", "ttd", "twd", "tzs", "uah", "ugx", "usd", "uyu", "uzs", "vnd",
        "vuv", "wst", "xaf", "xcd", "xcg", "xof", "xpf", "yer", "zar", "zmw",
    ]

    /// Currencies whose amounts are whole units (Stripe's zero-decimal list, without `isk`/`ugx`).
    static let zeroDecimalCodes: Set<String> = [
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "vnd", "vuv", "xaf", "xof", "xpf",
    ]

    /// Currencies whose amounts are thousandths.
    static let threeDecimalCodes: Set<String> = ["bhd", "jod", "kwd", "omr", "tnd"]

    /// Zero-decimal in practice, but sent to Stripe as two-decimal amounts ending in `00`.
    static let wholeUnitsInTwoDecimalCodes: Set<String> = ["isk", "ugx"]

    /// Stripe's long-standing minimum charge table (§1.3), in minor units.
    static let minimumChargeAmounts: [String: Int64] = [
        "usd": 50, "eur": 50, "gbp": 30,
        "aud": 50, "cad": 50, "chf": 50,
        "nzd": 50, "sgd": 50, "brl": 50,
        "inr": 50, "jpy": 50, "hkd": 400,
        "mxn": 1000, "thb": 1000, "myr": 200,
        "aed": 200, "pln": 200, "ron": 200,
        "bgn": 100, "dkk": 250, "nok": 300,
        "sek": 300, "czk": 1500, "huf": 17500,
    ]

    /// Maximum charge amounts above the eight-digit default; see `maximumChargeAmount` for why each value.
    static let maximumChargeAmounts: [String: Int64] = [
        "jpy": 999_999_999,
        "inr": 9_999_999_999,
        "huf": 99_999_999_999,
        "idr": 999_999_999_999,
        "cop": 999_999_999_999,
        "lbp": 9_999_999_999_999,
    ]

    /// Symbols written before the number by `formatted(_:)`.
    static let symbols: [String: String] = [
        "usd": "$", "eur": "€", "gbp": "£", "jpy": "¥",
        "aud": "A$", "cad": "CA$", "hkd": "HK$", "nzd": "NZ$", "mxn": "MX$", "twd": "NT$", "xcd": "EC$",
        "brl": "R$", "cny": "CN¥", "inr": "₹", "krw": "₩", "ils": "₪", "vnd": "₫", "php": "₱",
    ]
}
