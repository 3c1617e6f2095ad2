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
    /// right-aligned. NULL prints as nothing.
    func alignedText() -> String {
        let cells = rows.map { row in row.map(Self.plain) }
        let numeric = columns.indices.map { column in
            rows.contains { row in row[column].isNumber } && rows.allSatisfy { row in row[column].text == nil }
        }
        let widths = columns.indices.map { column in
            cells.reduce(columns[column].count) { widest, row in max(widest, row[column].count) }
        }
        func line(_ fields: [String]) -> String {
            let padded = fields.enumerated().map { column, field in
                let padding = String(repeating: " ", count: widths[column] - field.count)
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
