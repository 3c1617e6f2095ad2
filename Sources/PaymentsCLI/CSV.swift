/// RFC 4180 CSV: fields separated by commas, optionally quoted with `"` (a quote inside doubled), rows ended by
/// CRLF, LF or CR.
enum CSV {
    /// Text that is not CSV, and the physical line (from 1) where it is. A file with one cannot be read reliably:
    /// its later rows may be swallowed into a field, or a field may not hold what its writer meant.
    struct SyntaxError: Error, Equatable, CustomStringConvertible {
        /// What is wrong.
        enum Kind: Equatable, Sendable {
            /// A quoted field is still open at the end of the text; ``SyntaxError/line`` is where its quote opened.
            case unclosedQuote
            /// A quoted field's closing quote is followed by something other than a comma, a line break or the end
            /// (`"ab"cd`); ``SyntaxError/line`` is the line of that closing quote.
            case textAfterClosingQuote
        }

        var kind: Kind
        /// The physical line, counted from 1 (a quoted field's line breaks count).
        var line: Int

        /// What is wrong, without the line: `a quoted field is never closed`.
        var reason: String {
            switch kind {
            case .unclosedQuote: "a quoted field is never closed"
            case .textAfterClosingQuote:
                "a quoted field has text after its closing quote (write a quote inside a quoted field as \"\")"
            }
        }

        var description: String { "line \(line): \(reason)" }
    }

    /// Where the parser is within the current field.
    private enum State {
        /// Nothing read yet but spaces: a quote here opens a quoted field, and the spaces before it are dropped (a
        /// spreadsheet's `, "W-1"`, as Python's csv reads it with `skipinitialspace`). The spaces were taken as
        /// part of a field of literal quotes, `"W-1"` with its quotes, a reference other than `W-1`: the same row,
        /// quoted once without and once with a space, was charged twice.
        case fieldStart
        /// In a field that did not start with a quote: a quote here is literal (`ab"cd`, as Excel and Python read it).
        case unquoted
        /// Inside a quoted field: commas and line breaks are part of it, `""` is one quote.
        case quoted
        /// Just after a quoted field's closing quote: only a comma, a line break or the end may follow (spaces are
        /// skipped).
        case afterClosingQuote
    }

    /// One field as read.
    struct Cell: Equatable {
        var value: String
        /// The field was quoted with spaces before its opening quote (`, "W-1"`). Versions before `cdf1dd3` read such
        /// a field as its text with the quotes (``textReadBefore``).
        var quotedAfterSpaces = false

        /// What versions before `cdf1dd3` read this field as, after trimming, when that differs from ``value``:
        /// `"W-1"` with its quotes (a quote inside doubled) for a field quoted after spaces. Nil for a field holding a
        /// comma or a line break, which those versions split (its row then had the wrong number of fields).
        var textReadBefore: String? {
            guard quotedAfterSpaces, !value.contains(where: { $0 == "," || CSV.isLineBreak($0) }) else { return nil }
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
    }

    /// Parses `text` into rows of fields. A quoted field may hold commas and line breaks. Empty lines are skipped.
    /// - Throws: ``SyntaxError`` for a quoted field never closed, or text after a quoted field's closing quote.
    static func parse(_ text: String) throws(SyntaxError) -> [[String]] {
        try parseCells(text).map { row in row.map(\.value) }
    }

    /// ``parse(_:)``, each field with how it was quoted.
    static func parseCells(_ text: String) throws(SyntaxError) -> [[Cell]] {
        var rows: [[Cell]] = []
        var row: [Cell] = []
        var field = ""
        var quotedAfterSpaces = false
        var state = State.fieldStart
        var line = 1
        var quoteLine = 1
        var chars = text.makeIterator()
        var pending: Character? = nil
        func next() -> Character? {
            if let value = pending {
                pending = nil
                return value
            }
            return chars.next()
        }
        func endField() {
            row.append(Cell(value: field, quotedAfterSpaces: quotedAfterSpaces))
            field = ""
            quotedAfterSpaces = false
            state = .fieldStart
        }
        func endRow() {
            endField()
            if !(row.count == 1 && row[0].value.isEmpty) { rows.append(row) }
            row = []
            line += 1
        }
        while let char = next() {
            switch state {
            case .quoted:
                if char == "\"" {
                    let following = next()
                    if following == "\"" {
                        field.append("\"")
                    } else {
                        // Closed: what follows is read again in the new state (nil, the end, ends the loop)
                        state = .afterClosingQuote
                        pending = following
                    }
                } else {
                    if isLineBreak(char) { line += 1 }
                    field.append(char)
                }
            case .afterClosingQuote:
                switch char {
                case ",": endField()
                case _ where isLineBreak(char): endRow()
                case _ where isSpace(char): break
                default: throw SyntaxError(kind: .textAfterClosingQuote, line: line)
                }
            case .fieldStart, .unquoted:
                switch char {
                case "\"" where state == .fieldStart:
                    quotedAfterSpaces = !field.isEmpty
                    field = ""
                    state = .quoted
                    quoteLine = line
                case ",": endField()
                case _ where isLineBreak(char): endRow()
                case _ where state == .fieldStart && isSpace(char):
                    field.append(char)
                default:
                    field.append(char)
                    state = .unquoted
                }
            }
        }
        if state == .quoted { throw SyntaxError(kind: .unclosedQuote, line: quoteLine) }
        if !field.isEmpty || !row.isEmpty {
            row.append(Cell(value: field, quotedAfterSpaces: quotedAfterSpaces))
            rows.append(row)
        }
        return rows
    }

    /// Whether `char` is a space within a line: a space, a tab, a no-break space (what the recharge trims around a
    /// cell).
    private static func isSpace(_ char: Character) -> Bool {
        char.isWhitespace && !isLineBreak(char)
    }

    /// Whether `char` ends a line: LF, CRLF (one `Character` in Swift) or a lone CR.
    static func isLineBreak(_ char: Character) -> Bool {
        char == "\n" || char == "\r\n" || char == "\r"
    }

    /// One line of CSV, quoting the fields that need it: those holding a comma, a quote or a line break (CRLF
    /// included, one `Character` that equals neither `"\n"` nor `"\r"`).
    static func line(_ fields: [String]) -> String {
        fields.map { field in
            guard field.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return field }
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }.joined(separator: ",") + "\r\n"
    }
}
