import Foundation
import PaymentsCore
import PaymentsStore

// MARK: - Rendering

extension ReportTable {
    /// The table in `format`, ending with a line break.
    func rendered(as format: ReportCommand.Format) -> String {
        switch format {
        case .table: alignedText()
        case .csv: csvText()
        case .json: jsonText()
        }
    }

    /// Columns padded to their widest cell under a header and a rule of dashes; a column of numbers (and NULLs) is
    /// right-aligned. NULL prints as nothing. Control characters in the data are shown escaped (``visible(_:)``), and
    /// wide characters count two columns (``displayWidth(_:)``).
    func alignedText() -> String {
        let cells = rows.map { row in row.map { Self.visible(Self.plain($0)) } }
        let numeric = columns.indices.map { column in
            rows.contains { row in row[column].isNumber } && rows.allSatisfy { row in row[column].text == nil }
        }
        let widths = columns.indices.map { column in
            cells.reduce(Self.displayWidth(columns[column])) { widest, row in
                max(widest, Self.displayWidth(row[column]))
            }
        }
        func line(_ fields: [String]) -> String {
            let padded = fields.enumerated().map { column, field in
                let padding = String(repeating: " ", count: widths[column] - Self.displayWidth(field))
                return numeric[column] ? padding + field : field + padding
            }
            var text = padded.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text + "\n"
        }
        var text = line(columns)
        text += line(widths.map { String(repeating: "-", count: $0) })
        for row in cells { text += line(row) }
        return text
    }

    /// `text` with the characters a terminal acts on, or lays out unseen, shown as escapes: `\n`, `\r`, `\t`, and
    /// `\u{1B}` for the other controls and format characters (``isControl(_:)``); a backslash is doubled. A merchant's description or
    /// metadata reaches the table as the API stored it: raw, an escape sequence cleared the admin's screen or
    /// printed a fake figure, and a line break split a row.
    static func visible(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { isControl($0) || $0 == "\\" }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"  // so that a stored `\n` (two characters) reads apart from an escaped line break
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where isControl(scalar): out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// C0 and C1 controls and DEL, and the characters a terminal lays out unseen: format characters (bidirectional
    /// marks and overrides, zero-width spaces, the byte order mark) and the line and paragraph separators.
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x20...0x7E: return false
        default:
            switch scalar.properties.generalCategory {
            case .format, .lineSeparator, .paragraphSeparator: return true
            default: return false
            }
        }
    }

    /// The columns `text` takes in a terminal: two for each East Asian wide or full-width character and emoji, one
    /// for others (a character counts as its first scalar).
    static func displayWidth(_ text: String) -> Int {
        text.reduce(0) { width, character in
            guard let scalar = character.unicodeScalars.first else { return width }
            switch scalar.value {
            case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
                0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
                0x1F900...0x1F9FF, 0x20000...0x3FFFD:
                return width + 2
            default:
                return width + 1
            }
        }
    }

    /// RFC 4180 CSV: a header row, then one row per record; NULL is an empty field.
    func csvText() -> String {
        CSV.line(columns) + rows.map { row in CSV.line(row.map(Self.plain)) }.joined()
    }

    /// A JSON array with one object per row, keys in column order; integers and reals are numbers, NULL is null.
    func jsonText() -> String {
        guard !rows.isEmpty else { return "[]\n" }
        let objects = rows.map { row in
            "  {"
                + zip(columns, row).map { column, value in Self.json(column) + ": " + Self.json(value) }
                .joined(separator: ", ") + "}"
        }
        return "[\n" + objects.joined(separator: ",\n") + "\n]\n"
    }

    /// A cell as plain text.
    static func plain(_ value: ReportValue) -> String {
        switch value {
        case .null: ""
        case .integer(let integer): String(integer)
        case .real(let real): String(real)
        case .text(let text): text
        }
    }

    /// A cell as a JSON value.
    static func json(_ value: ReportValue) -> String {
        switch value {
        case .null: "null"
        case .integer(let integer): String(integer)
        case .real(let real): real.isFinite ? String(real) : "null"
        case .text(let text): json(text)
        }
    }

    /// A JSON string literal.
    static func json(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
