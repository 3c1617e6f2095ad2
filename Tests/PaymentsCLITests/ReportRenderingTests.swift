import PaymentsCore
import Testing

@testable import PaymentsCLI

/// `payments report`'s table: what the API stored is printed, never acted on by the terminal.
@Suite("Report table rendering")
struct ReportRenderingTests {
    @Test("control characters in a cell are shown escaped; the table stays one line per row, its columns aligned")
    func controlCharactersEscaped() {
        let table = ReportTable(
            name: "payments",
            columns: ["id", "description", "amount"],
            rows: [
                [.text("pi_1"), .text("\u{1B}[2J\u{1B}[31mFAKE TOTAL 999999"), .integer(50)],
                [.text("pi_2"), .text("two\nlines\rback\tand \u{202E}reversed\u{7F}"), .integer(2000)],
                [.text("pi_3"), .text("plain"), .null],
            ]
        )
        let text = table.alignedText()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // Then nothing a terminal acts on is printed raw, and each row is one line
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "\(text)")
        #expect(!text.unicodeScalars.contains { $0.value == 0x7F || $0.value == 0x202E })
        #expect(lines.count == 6, "\(lines)")  // header, rule, three rows, and the empty string after the last \n
        #expect(lines[2].contains(#"\u{1B}[2J\u{1B}[31mFAKE TOTAL 999999"#), "\(lines[2])")
        #expect(lines[3].contains(#"two\nlines\rback\tand \u{202E}reversed\u{7F}"#), "\(lines[3])")
        // and the amounts stay right-aligned under their header
        #expect(lines[2].hasSuffix("    50") && lines[3].hasSuffix("  2000"), "\(text)")
    }

    @Test("format characters and separators are escaped, and a stored backslash reads apart from an escape")
    func invisibleCharactersEscaped() {
        let table = ReportTable(
            name: "payments",
            columns: ["description"],
            rows: [
                [.text("a\u{2028}b\u{2029}c\u{200B}d\u{200E}e\u{061C}f\u{FEFF}g")], [.text(#"lit\nslash"#)],
                [.text("line\nbreak")],
            ]
        )
        let lines = table.alignedText().split(separator: "\n")
        #expect(lines[2] == #"a\u{2028}b\u{2029}c\u{200B}d\u{200E}e\u{61C}f\u{FEFF}g"#, "\(lines)")
        #expect(lines[3].hasPrefix(#"lit\\nslash"#), "\(lines)")
        #expect(lines[4].hasPrefix(#"line\nbreak"#), "\(lines)")
        // and ordinary text, accents and CJK included, is printed as it is
        #expect(ReportTable.visible("Café お茶 50% off") == "Café お茶 50% off")
    }

    @Test("wide characters count two columns, so the columns after them stay aligned")
    func wideCharactersAligned() {
        let table = ReportTable(
            name: "payments",
            columns: ["description", "amount"],
            rows: [[.text("お茶"), .integer(500)], [.text("tea"), .integer(5)]]
        )
        let lines = table.alignedText().split(separator: "\n")
        // "description" is 11 columns: "お茶" takes 4 and is padded with 7 spaces, "tea" with 8
        #expect(lines[2] == "お茶" + String(repeating: " ", count: 7) + "     500", "\(lines)")
        #expect(lines[3] == "tea" + String(repeating: " ", count: 8) + "       5", "\(lines)")
        #expect(ReportTable.displayWidth("お茶") == 4 && ReportTable.displayWidth("tea") == 3)
    }
}
