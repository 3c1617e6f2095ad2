/// A migration file cut into its statements.
///
/// PostgresNIO speaks the extended query protocol, which runs one statement per query, so a file of several
/// statements is cut at each top-level `;`. Semicolons inside quoted text (`'…'`, `E'…'`), quoted names (`"…"`),
/// dollar-quoted bodies (`$$…$$`, `$tag$…$tag$`, as in a function) and comments (`-- …`, nested `/* … */`) do
/// not cut. Pure, so it is unit-tested on its own.
public struct SQLScript: Sendable, Equatable {
    /// One statement and the line of the file it starts on (for error messages).
    public struct Statement: Sendable, Equatable {
        public var sql: String
        public var line: Int

        public init(sql: String, line: Int) {
            self.sql = sql
            self.line = line
        }
    }

    /// The statements in file order, each without its `;`; those holding only comments and space are left out.
    public let statements: [Statement]

    /// Cuts `text` into statements.
    public init(_ text: String) {
        var cutter = Cutter(Array(text.unicodeScalars))
        statements = cutter.cut()
    }
}

// MARK: - Cutting

extension SQLScript {
    /// Walks the file once, tracking which kind of quote or comment it is in.
    private struct Cutter {
        let scalars: [Unicode.Scalar]
        var index = 0
        var line = 1

        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        mutating func cut() -> [Statement] {
            var statements: [Statement] = []
            var start = 0
            var startLine = 1
            var hasCode = false
            while index < scalars.count {
                let scalar = scalars[index]
                if scalar == ";" {
                    if hasCode { statements.append(Statement(sql: text(start, index), line: startLine)) }
                    index += 1
                    start = index
                    hasCode = false
                    continue
                }
                if !hasCode, !scalar.properties.isWhitespace, !startsComment() {
                    hasCode = true
                    start = index
                    startLine = line
                }
                skipToken()
            }
            if hasCode { statements.append(Statement(sql: text(start, scalars.count), line: startLine)) }
            return statements
        }

        /// The text from `start` to `end`, without surrounding space.
        func text(_ start: Int, _ end: Int) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[start..<end])
            return String(view).trimmingSpace()
        }

        func peek(_ offset: Int = 0) -> Unicode.Scalar? {
            index + offset < scalars.count ? scalars[index + offset] : nil
        }

        func startsComment() -> Bool {
            (peek() == "-" && peek(1) == "-") || (peek() == "/" && peek(1) == "*")
        }

        /// Moves past one character, or past a whole quoted text, quoted name, dollar-quoted body or comment.
        mutating func skipToken() {
            let scalar = scalars[index]
            if scalar == "-" && peek(1) == "-" {
                while let next = peek(), next != "\n" { advance() }
            } else if scalar == "/" && peek(1) == "*" {
                skipBlockComment()
            } else if scalar == "'" {
                let escapes = index > 0 && (scalars[index - 1] == "E" || scalars[index - 1] == "e")
                skipQuoted("'", backslashEscapes: escapes)
            } else if scalar == "\"" {
                skipQuoted("\"", backslashEscapes: false)
            } else if scalar == "$", let tag = dollarTag() {
                skipDollarQuoted(tag)
            } else {
                advance()
            }
        }

        mutating func advance() {
            if scalars[index] == "\n" { line += 1 }
            index += 1
        }

        /// Skips `/* … */`, which nest in PostgreSQL.
        mutating func skipBlockComment() {
            var depth = 0
            while index < scalars.count {
                if peek() == "/" && peek(1) == "*" {
                    depth += 1
                    advance()
                    advance()
                } else if peek() == "*" && peek(1) == "/" {
                    depth -= 1
                    advance()
                    advance()
                    if depth == 0 { return }
                } else {
                    advance()
                }
            }
        }

        /// Skips a text quoted by `quote`, where a doubled quote stands for one (and `\x` for x in `E'…'`).
        mutating func skipQuoted(_ quote: Unicode.Scalar, backslashEscapes: Bool) {
            advance()
            while index < scalars.count {
                let scalar = scalars[index]
                if backslashEscapes && scalar == "\\" {
                    advance()
                    if index < scalars.count { advance() }
                } else if scalar == quote {
                    advance()
                    guard peek() == quote else { return }
                    advance()
                } else {
                    advance()
                }
            }
        }

        /// The `$tag$` opening at `index` (`$$` has an empty tag), or nil for a `$1` parameter or a `$` in a name.
        func dollarTag() -> [Unicode.Scalar]? {
            if index > 0 {
                let before = scalars[index - 1]
                if before.properties.isAlphabetic || before == "_" || ("0"..."9").contains(before) { return nil }
            }
            var end = index + 1
            while end < scalars.count, scalars[end] != "$" {
                let scalar = scalars[end]
                guard
                    scalar.properties.isAlphabetic || scalar == "_" || (end > index + 1 && ("0"..."9").contains(scalar))
                else { return nil }
                end += 1
            }
            guard end < scalars.count else { return nil }
            return Array(scalars[index...end])
        }

        /// Skips from an opening `$tag$` to its closing one.
        mutating func skipDollarQuoted(_ tag: [Unicode.Scalar]) {
            for _ in tag { advance() }
            while index < scalars.count {
                if scalars[index] == "$", index + tag.count <= scalars.count,
                    Array(scalars[index..<(index + tag.count)]) == tag
                {
                    for _ in tag { advance() }
                    return
                }
                advance()
            }
        }
    }
}

extension String {
    /// The string without leading and trailing whitespace (Foundation-free).
    fileprivate func trimmingSpace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
