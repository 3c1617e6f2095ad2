import PaymentsCore
import Testing

@Suite("Card numbers")
struct CardNumberTests {
    @Test(
        "Spaces and dashes are ignored",
        arguments: [
            ("4242424242424242", "4242424242424242"), ("4242 4242 4242 4242", "4242424242424242"),
            ("4242-4242-4242-4242", "4242424242424242"), (" 4242 4242-4242 4242 ", "4242424242424242"),
            ("3782 822463 10005", "378282246310005"), ("3622-720627-1667", "36227206271667"),
        ]
    )
    func parsesFormattedNumbers(raw: String, digits: String) throws {
        let number = try CardNumber(parsing: raw)
        #expect(number.digits == digits)
    }

    @Test(
        "Malformed input is invalid_number",
        arguments: [
            "", "   ", "4242abc", "4242424242424242x", "4242.4242.4242.4242", "4242_4242_4242_4242",
            "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢",  // Arabic-Indic digits are not ASCII digits
            "42424242424",  // 11 digits
            "42424242424242424242",  // 20 digits
            "4242\t4242424242424242",
        ]
    )
    func invalidNumber(raw: String) {
        #expect(throws: CardNumberError.invalidNumber) { try CardNumber(parsing: raw) }
    }

    @Test(
        "Well-formed numbers failing Luhn are incorrect_number",
        arguments: ["4242424242424241", "4242 4242 4242 4243", "5555555555554445", "378282246310006", "424242424241"]
    )
    func incorrectNumber(raw: String) {
        #expect(throws: CardNumberError.incorrectNumber) { try CardNumber(parsing: raw) }
    }

    @Test("Lengths 12 and 19 are accepted")
    func lengthBounds() throws {
        // 12 and 19 digits that pass Luhn.
        #expect(try CardNumber(parsing: "424242424242").digits.count == 12)
        #expect(try CardNumber(parsing: "6205500000000000004").digits.count == 19)
    }

    @Test(
        "Luhn check",
        arguments: [
            ("4242424242424242", true), ("4242424242424241", false), ("0", true), ("18", true), ("79927398713", true),
            ("79927398710", false), ("", false), ("4242 4242 4242 4242", false), ("42a2", false),
            ("6205500000000000004", true), ("36227206271667", true),
        ]
    )
    func luhn(digits: String, valid: Bool) {
        #expect(CardNumber.luhnIsValid(digits) == valid)
    }

    @Test("Luhn works on substrings")
    func luhnOnSubstring() {
        let text = "card:4242424242424242"
        #expect(CardNumber.luhnIsValid(text.dropFirst(5)))
    }

    @Test(
        "last4, bin and brand",
        arguments: [
            ("4242424242424242", "4242", "424242", CardBrand.visa),
            ("378282246310005", "0005", "378282", .amex),
            ("5555555555554444", "4444", "555555", .mastercard),
            ("36227206271667", "1667", "362272", .diners),
        ]
    )
    func derivedFields(raw: String, last4: String, bin: String, brand: CardBrand) throws {
        let number = try CardNumber(parsing: raw)
        #expect(number.last4 == last4)
        #expect(number.bin == bin)
        #expect(number.brand == brand)
    }

    @Test(
        "No textual form reveals the full number",
        arguments: ["4242424242424242", "378282246310005", "6205500000000000004", "36227206271667"]
    )
    func redaction(raw: String) throws {
        let number = try CardNumber(parsing: raw)
        var dumped = ""
        dump(number, to: &dumped)
        var dumpedInArray = ""
        dump([number], to: &dumpedInArray)
        let forms = [
            number.description,
            number.debugDescription,
            String(describing: number),
            String(reflecting: number),
            "\(number)",
            dumped,
            dumpedInArray,
            String(describing: [number]),
            String(describing: Optional(number)),
            Mirror(reflecting: number).children.map { "\($0.label ?? ""): \($0.value)" }.joined(separator: ","),
        ]
        for form in forms {
            #expect(!form.contains(raw), "leaked in: \(form)")
            #expect(!form.contains(raw.dropLast(4)), "leaked the leading digits in: \(form)")
        }
        #expect(number.description == "•••• " + number.last4)
        #expect(dumped.contains(number.last4))
    }

    @Test("Equal digits make equal numbers, whatever the formatting")
    func equality() throws {
        #expect(try CardNumber(parsing: "4242 4242 4242 4242") == CardNumber(parsing: "4242-4242-4242-4242"))
        #expect(try CardNumber(parsing: "4242424242424242") != CardNumber(parsing: "4000056655665556"))
    }

    @Test(
        "Error codes and messages",
        arguments: [
            (CardNumberError.invalidNumber, "invalid_number", "Your card number is invalid."),
            (.incorrectNumber, "incorrect_number", "Your card number is incorrect."),
        ]
    )
    func errors(error: CardNumberError, code: String, message: String) {
        #expect(error.code == code)
        #expect(error.message == message)
    }
}
