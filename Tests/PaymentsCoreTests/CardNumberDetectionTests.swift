import PaymentsCore
import Testing

/// Finding card numbers in free text (descriptions, metadata, idempotency keys), which the API refuses.
@Suite("Card numbers in free text")
struct CardNumberDetectionTests {
    @Test(
        "Card numbers are found as written, grouped, among other text and numbers",
        arguments: [
            "4242424242424242",
            "4242 4242 4242 4242",
            "4242-4242-4242-4242",
            "4242  4242--4242 4242",
            "card 4000002500003155 please",
            "order 12 4000000000009995",
            "4000000000009995/2030",
            "ref:378282246310005;",
            "3782 822463 10005",
            "5555555555554444",
            "6011111111111117",
            "x4242424242424242x",
            "first 1234, then 4242 4242 4242 4242 and 99",
            // Diners as printed, and a 19-digit number's short last group
            "3622 720627 1667",
            "4000 0000 0000 0000 006",
            // Grouped numbers after short groups of other numbers
            "ref 1-22 4242 4242 4242 4242",
            // Other spaces and dashes, as a number copied from a document keeps them
            "4000\u{00A0}0025\u{00A0}0000\u{00A0}3155",
            "4000\u{202F}0025\u{202F}0000\u{202F}3155",
            "4000\t0000\t0000\t9995",
            "4000\n0027\n6000\n3184",
            "4000\r\n0027\r\n6000\r\n3184",
            "4000\u{2013}0000\u{2013}0000\u{2013}0077",
            "4000_0000_0000_0093",
            // Full-width digits
            "\u{FF14}\u{FF10}\u{FF10}\u{FF10}\u{FF10}\u{FF10}\u{FF10}\u{FF10}"
                + "\u{FF10}\u{FF10}\u{FF10}\u{FF10}\u{FF10}\u{FF13}\u{FF14}\u{FF11}",
            // Grouped by spaces, touching a word, also after a dash elsewhere in the text
            "PAN4000 0000 0000 0002",
            "4000 0000 0000 0069exp",
            "Paid - 4111 0001 6000 0004exp",
            // ASCII's vertical tab and form feed, and invisible format characters (a zero-width space, a soft hyphen)
            "4000\u{0B}0000\u{0B}0000\u{0C}0002",
            "4000\u{200B}0000\u{200B}0000\u{200B}0002",
            "4000\u{00AD}0000\u{00AD}0000\u{00AD}0002",
            // Schemes without a brand of their own here: Maestro, Mir, RuPay, Troy
            "6759640000000003",
            "5018 0000 0000 0009",
            "2200120000000000",
            "6079120000000009",
            "9792000000000003",
            // Touching letters that make no long hex token: a word, short hex, a token with other letters
            "order4242424242424242",
            "cafe4242424242424242",
            "abcdefabcdef4242424242424242",
            "e3b0c44298fc1c149afbf4c8996fb9x4242424242424242",
        ]
    )
    func found(_ text: String) {
        #expect(CardNumber.appears(in: text))
    }

    @Test(
        "Ordinary values are left alone",
        arguments: [
            "",
            "T-shirt",
            "order 42",
            "4242",
            // Fails the Luhn check
            "4242424242424241",
            // Too long to be one number, in one group
            "42424242424242424242",
            // A millisecond timestamp that passes the Luhn check: no brand starts with 17
            "1767225600009",
            // 16 digits that pass the Luhn check but start like no brand's numbers
            "1234567812345670",
            // Short groups that are not a number together (fewer than 12 digits)
            "2026-11-29 21:24",
            "pi_3Ua6tz0rUMstl6Gdrs6dRwNo",
            "+1 415-555-0100",
            // A UUID (the Stripe libraries' idempotency keys) whose 4-digit groups make a Luhn-valid 12-digit "Visa"
            "deadbeef-4000-0000-0002-abcdefabcdef",
            // A UUID whose groups are all digits: 8-4-4-4-12 is no card's grouping
            "12345678-4242-4242-4242-424242424242x",
            // Digit runs cut from a UUID's hex groups by letters do not join its 4-digit groups
            "abcdef42-4000-0000-0002-abcdefabcdef",
            // A merchant's keys joining small numbers into 13 Luhn-valid digits that start like a Visa or a
            // Mastercard: a card's printed groups start with 4 digits, and only its last is shorter than 3
            "i-2-32-17300-10004",
            "payout-4111-11-12-10218",
            "retry-4-2026-11-29-0105",
            // Comma-separated amounts are not a card's groups
            "4000,0000,0000,0101",
            // A UUID's groups touching its hex letters still do not join, with underscores too
            "abcdef42_4000_0000_0002_abcdefabcdef",
            // A UUID without its dashes (Python's uuid4().hex) holding a Luhn-valid Visa-like run of 17 digits, and
            // a hash with a test card inside
            "03100c71082540c49706162281432163",
            "order-03100C71082540C49706162281432163",
            "e3b0c44298fc1c149afbf4c8996fb924242424242424242ae41e4649b934ca495991b7852b855",
        ]
    )
    func notFound(_ text: String) {
        #expect(!CardNumber.appears(in: text))
    }

    @Test("Idempotency keys made as uuid4().hex are never read as card numbers")
    func hexUUIDsAreNotCards() {
        // 20,000 random 32-hex-digit keys (seeded): about one in 470 holds 13 to 19 digits in a row that pass the
        // Luhn check and start like a brand's, and about half of those were refused
        var generator = SplitMix64(seed: 0x5EED)
        let hex = Array("0123456789abcdef")
        var refused: [String] = []
        for _ in 0..<20_000 {
            let key = String((0..<32).map { _ in hex[Int(generator.next() % 16)] })
            if CardNumber.appears(in: key) { refused.append(key) }
        }
        #expect(refused.isEmpty, "\(refused.count) keys read as cards, such as \(refused.prefix(3))")
    }

    @Test("Every number this service accepts as a card is found, however it is grouped")
    func acceptedNumbersAreFound() throws {
        for card in TestCards.all.map(\.number) {
            let parsed = try CardNumber(parsing: card)
            guard parsed.brand != .unknown else { continue }
            let digits = parsed.digits
            let spaced = stride(from: 0, to: digits.count, by: 4).map { start in
                String(digits.dropFirst(start).prefix(4))
            }
            #expect(CardNumber.appears(in: digits), "\(parsed)")
            #expect(CardNumber.appears(in: spaced.joined(separator: " ")), "\(parsed)")
            #expect(CardNumber.appears(in: spaced.joined(separator: "-")), "\(parsed)")
        }
    }
}

/// A small seeded generator, so the random keys are the same in every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
