import Foundation
import Testing

@testable import PaymentsCLI

@Suite("CSV parsing")
struct CSVTests {
    @Test("quoted fields hold commas, doubled quotes and line breaks; empty lines are skipped")
    func quotedFields() throws {
        let text = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n\n\"\",z,\n"
        #expect(try CSV.parse(text) == [["a", "b", "c"], ["x, y", "say \"hi\"", "two\nlines"], ["", "z", ""]])
    }

    @Test("a quote inside an unquoted field is literal, as Excel and Python's csv read it")
    func bareQuote() throws {
        #expect(try CSV.parse("ab\"cd,e\n") == [["ab\"cd", "e"]])
    }

    @Test("spaces between a closing quote and the comma are skipped")
    func spacesAfterClosingQuote() throws {
        #expect(try CSV.parse("\"ab\" ,\"cd\"\t\nx") == [["ab", "cd"], ["x"]])
    }

    @Test("spaces before an opening quote are dropped; a quote after other text is literal")
    func spacesBeforeOpeningQuote() throws {
        // A spreadsheet's `, "INV-7"` was the field `"INV-7"`, quotes and all: a reference other than `INV-7`
        #expect(try CSV.parse("a, \"INV-7\",\t\u{A0}\"c, d\"\n") == [["a", "INV-7", "c, d"]])
        #expect(try CSV.parse(" x \"y\", \n") == [[" x \"y\"", " "]])
        #expect(throws: CSV.SyntaxError.self) { try CSV.parse("a, \"b\"c\n") }
        // What versions before cdf1dd3 read such a field as (its text with the quotes, a quote inside doubled), so
        // that a row they charged is replayed under it; none for a field they split at its comma
        let cells = try CSV.parseCells("\"a\", \"INV-7\", \"say \"\"hi\"\"\",\t\"c, d\"\n")
        #expect(cells[0].map(\.textReadBefore) == [nil, "\"INV-7\"", "\"say \"\"hi\"\"\"", nil])
    }

    @Test(
        "a quoted field never closed is an error at the line where its quote opened",
        arguments: [
            // The reviewer's file: it swallowed the two rows after it
            ("customer,amount,currency,reference\ncus_X,2101,usd,\"uq-1\ncus_X,2102,usd,uq-2\ncus_X,2103,usd,uq-3", 2),
            ("customer,amount,currency,reference\r\ncus_X,2101,usd,\"uq-1\r\ncus_X,2102,usd,uq-2\r\n", 2),
            // A closed quoted field spanning lines 2 and 3 counts both: the open one is on line 4
            ("a,b\n\"two\nlines\",1\n\"open,2\n", 4),
            ("a,b\r\n\"two\r\nlines\",1\r\n\r\nx,\"open", 5),
            ("\"", 1),
        ]
    )
    func unclosedQuote(text: String, line: Int) {
        #expect(throws: CSV.SyntaxError(kind: .unclosedQuote, line: line)) { try CSV.parse(text) }
    }

    @Test(
        "text after a closing quote is an error at that line",
        arguments: [
            ("a,b\nc,d\n\"ab\"cd,e\n", 3),
            ("a,b\n\"ab\"\"\"c\n", 2),
            // The closing quote is on line 3 of a field that opened on line 2
            ("a\n\"one\ntwo\"x\n", 3),
            ("\"\"x", 1),
        ]
    )
    func textAfterClosingQuote(text: String, line: Int) {
        #expect(throws: CSV.SyntaxError(kind: .textAfterClosingQuote, line: line)) { try CSV.parse(text) }
    }

    @Test("the error reads as line and reason")
    func errorDescription() {
        #expect(
            CSV.SyntaxError(kind: .unclosedQuote, line: 2).description == "line 2: a quoted field is never closed"
        )
    }

    @Test("a written line reads back as the same fields, a field holding CRLF quoted")
    func roundTrip() throws {
        let fields = ["plain", "with, comma", "with \"quote\"", "two\r\nlines", "cr\rlf\n", ""]
        let line = CSV.line(fields)
        #expect(line == "plain,\"with, comma\",\"with \"\"quote\"\"\",\"two\r\nlines\",\"cr\rlf\n\",\r\n")
        #expect(try CSV.parse(line) == [fields])
    }
}

@Suite("payments recharge: reading the input and checking the output")
struct RechargeInputTests {
    /// A new file holding `text`, in a temporary folder.
    static func file(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("recharge-\(UUID().uuidString).csv")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test("lines of only whitespace or empty cells (Excel's `,,,`) are skipped; a row missing its reference is not")
    func blankRows() throws {
        let url = try Self.file(
            "customer,amount,currency,reference\n   \n,,,\n , \t, ,\ncus_A,100,usd,r-1\n\t\ncus_B,200,usd,\n,,,\n"
        )
        defer { try? FileManager.default.removeItem(at: url) }
        let rows = try RechargeCommand.readInput(url.path)
        #expect(rows.map(\.reference) == ["r-1", ""])
        #expect(rows.map(\.problem) == [nil, "missing reference"])
    }

    @Test("a row with fewer or more fields than the header is an error row; empty fields are fields")
    func fieldCounts() throws {
        // A missing comma shifted the columns after it: the payment_method was read as the description, and the
        // customer's default card charged instead of the one named
        let url = try Self.file(
            """
            customer,amount,currency,reference,description,payment_method
            cus_A,2300,usd,r-short,pm_named
            cus_A,2300,usd,r-4
            cus_A,2300,usd,r-long,renewal,pm_named,extra
            cus_A,2300,usd,r-full,,pm_named
            cus_A,2300,usd,r-empty,,
            """
        )
        defer { try? FileManager.default.removeItem(at: url) }
        let rows = try RechargeCommand.readInput(url.path)
        #expect(rows.map(\.reference) == ["r-short", "r-4", "r-long", "r-full", "r-empty"])
        #expect(
            rows.map { $0.problem?.components(separatedBy: " (").first } == [
                "row has 5 fields; the header has 6", "row has 4 fields; the header has 6",
                "row has 7 fields; the header has 6", nil, nil,
            ]
        )
        #expect(rows[3].request?.paymentMethod == "pm_named" && rows[3].request?.description == nil)
        #expect(rows[4].request?.paymentMethod == nil)
    }

    @Test("an amount is digits only; spaces around any cell, a reference's too, are not part of its value")
    func amountsAndSpaces() throws {
        let url = try Self.file(
            """
            customer,amount,currency,reference
            cus_A,+1000,usd,r-plus
            cus_A,1e3,usd,r-exp
            cus_A,10.50,usd,r-decimal
            cus_A,-5,usd,r-minus
            cus_A,0,usd,r-zero
            cus_A, 900 ,usd, r-spaced
            cus_A,01000,usd,"r-quoted "
            cus_A, "1100" ,usd, "r-quoted"
            """
        )
        defer { try? FileManager.default.removeItem(at: url) }
        let rows = try RechargeCommand.readInput(url.path)
        #expect(
            rows.map(\.reference) == [
                "r-plus", "r-exp", "r-decimal", "r-minus", "r-zero", "r-spaced", "r-quoted", "r-quoted",
            ]
        )
        let refused = "amount must be a positive integer in minor units"
        #expect(rows.map(\.problem) == [refused, refused, refused, refused, refused, nil, nil, nil])
        #expect(rows[5].request?.amount == 900 && rows[6].request?.amount == 1_000 && rows[7].request?.amount == 1_100)
        // The last row's reference as versions before cdf1dd3 read it, so a row they charged is not charged again
        #expect(rows[6].request?.referenceReadBefore == nil)
        #expect(rows[7].request?.referenceReadBefore == "\"r-quoted\"")
    }

    @Test("an empty currency is missing, an unknown one is named; a file that cannot be read says why")
    func currenciesAndUnreadableFiles() throws {
        let url = try Self.file("customer,amount,currency,reference\ncus_A,100, ,r-1\ncus_A,100,usx,r-2\n")
        defer { try? FileManager.default.removeItem(at: url) }
        let rows = try RechargeCommand.readInput(url.path)
        // it was "unknown currency ''"
        #expect(rows.map(\.problem) == ["missing currency", "unknown currency 'usx'"])
        // it was "cannot read PATH", whatever the cause
        let missing = url.path + ".missing"
        let error = #expect(throws: (any Error).self) { try RechargeCommand.readInput(missing) }
        #expect(error.map { "\($0)" } == "cannot read \(missing): it does not exist")
        // and a device is not "permission denied" (Foundation's word for it, even for `/dev/null`), nor a folder
        let device = #expect(throws: (any Error).self) { try RechargeCommand.readInput("/dev/null") }
        #expect(
            device.map { "\($0)" }
                == "cannot read /dev/null: it is not a regular file (a device or a socket); name the CSV file"
        )
        let folder = #expect(throws: (any Error).self) { try RechargeCommand.readInput("/tmp") }
        #expect(folder.map { "\($0)" } == "cannot read /tmp: it is a folder; name the CSV file")
    }

    @Test(
        "a file without the header's columns quotes its first line as written, and names another separator",
        arguments: [
            ("cus_MixedCase1,1200,usd,f-nohdr\n", "(first line: cus_MixedCase1,1200,usd,f-nohdr)"),
            ("customer;amount;currency;reference\ncus_A;100;usd;r-1\n", "separated by ';', and must be by commas"),
            ("customer\tamount\tcurrency\treference\ncus_A\t100\tusd\tr-1\n", "separated by tabs"),
            ("4242424242424242,1200,usd,r-1\n", "(first line: (not shown: it holds a card number))"),
        ]
    )
    func noHeader(text: String, says: String) throws {
        // Given a file whose first line is a row, or a header under another separator (the first line was quoted
        // lowercased, and a customer id is case-sensitive; a `;` file got no hint) (probe)
        let url = try Self.file(text)
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: (any Error).self) { try RechargeCommand.readInput(url.path) }
        let message = error.map { "\($0)" } ?? ""
        #expect(message.hasPrefix("\(url.path) has no 'customer' column") && message.contains(says), "\(message)")
        #expect(!message.contains("4242424242424242"))
    }

    @Test("a file that is not CSV is refused, naming the file and the line")
    func syntaxError() throws {
        let url = try Self.file("customer,amount,currency,reference\ncus_X,2101,usd,\"uq-1\ncus_X,2102,usd,uq-2\n")
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: (any Error).self) { try RechargeCommand.readInput(url.path) }
        #expect(error.map { "\($0)" } == "\(url.path): line 2: a quoted field is never closed; nothing was charged")
    }

    @Test("a card number in any cell refuses its row without repeating it; the other rows are read")
    func cardNumbers() throws {
        let url = try Self.file(
            """
            customer,amount,currency,reference,description
            cus_A,100,usd,r-1,order for card 5555 5555 5555 4444
            cus_A,100,usd,4000056655665556,renewal
            cus_A,100,5555555555554444,r-3,renewal
            cus_A,100,usd,r-4,order 4000-0000-0000-0002-ish
            cus_A,100,usd,r-5,renewal 2026-01
            """
        )
        defer { try? FileManager.default.removeItem(at: url) }
        let rows = try RechargeCommand.readInput(url.path)
        #expect(rows.map(\.reference) == ["r-1", "", "r-3", "r-4", "r-5"])
        #expect(
            rows.map { $0.problem?.components(separatedBy: " ").first } == [
                "description", "reference", "currency", "description", nil,
            ]
        )
        #expect(rows.allSatisfy { $0.problem.map { !$0.contains("4444") && !$0.contains("5556") } ?? true })
        #expect(rows.last?.request?.description == "renewal 2026-01")
    }

    @Test("an unknown column (a misspelt payment_method) or a repeated one refuses the file; nothing is charged")
    func unknownColumns() throws {
        for (header, message) in [
            ("customer,amount,currency,reference,payment_method_id", "an unknown column 'payment_method_id'"),
            ("customer,amount,currency,reference,reference", "the column 'reference' twice"),
            // A card number pasted into the header is not repeated
            ("customer,amount,currency,reference,4000000000000002", "an unknown column (a card number)"),
            // A spreadsheet's trailing comma: said so, where it was "an unknown column ''"
            ("customer,amount,currency,reference,", "an unknown column with no name (a comma at the end"),
        ] {
            let url = try Self.file("\(header)\ncus_A,100,usd,r-1,r-2\n")
            defer { try? FileManager.default.removeItem(at: url) }
            let error = #expect(throws: (any Error).self) { try RechargeCommand.readInput(url.path) }
            #expect(error.map { "\($0)".contains(message) && "\($0)".contains("nothing was charged") } == true)
        }
    }

    @Test("an output in a folder that does not exist, or that is a folder, is refused; a new file is not")
    func output() throws {
        let folder = FileManager.default.temporaryDirectory.path
        #expect(throws: (any Error).self) { try OutputFile("/nonexistent/dir/out.csv", holding: "the results") }
        #expect(throws: (any Error).self) { try OutputFile(folder, holding: "the results") }
        #expect(throws: (any Error).self) { try OutputFile(folder + "/new-folder/", holding: "the results") }
        #expect(throws: (any Error).self) { try OutputFile("", holding: "the results") }
        _ = try OutputFile(folder + "/recharge-\(UUID().uuidString).csv", holding: "the results")
    }

    @Test("links that lead round in a loop are refused; a link to a new file resolves to that file")
    func outputLinks() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("links-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createSymbolicLink(atPath: folder + "/a", withDestinationPath: "b")
        try FileManager.default.createSymbolicLink(atPath: folder + "/b", withDestinationPath: "a")
        let loop = #expect(throws: (any Error).self) { try OutputFile(folder + "/a", holding: "the results") }
        #expect(loop.map { "\($0)".contains("loop") } == true)
        try FileManager.default.createSymbolicLink(atPath: folder + "/new", withDestinationPath: "results.csv")
        let file = try OutputFile(folder + "/new", holding: "the results")
        #expect(file.target == folder + "/results.csv")
        try file.write(Data("done\n".utf8))
        #expect(try String(contentsOfFile: folder + "/results.csv", encoding: .utf8) == "done\n")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: folder + "/new")) == "results.csv")
    }
}
