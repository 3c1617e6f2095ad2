import Foundation

// MARK: - Rows

extension PostgresServer {
    /// Runs `sql` with `psql` on `database` and returns its rows, each a list of its columns as psql prints them
    /// (integers in decimal, `t`/`f` for booleans, NULL as an empty string). Fields and rows are split on the ASCII
    /// unit and record separators, so values may hold `|` and line breaks. (One row of
    /// one NULL reads as no rows.)
    public func rows(database: String, _ sql: String) throws -> [[String]] {
        let output = try Self.run(
            binaries + "/psql",
            [
                "--host=" + folder.path, "--port=\(port)", "--username=" + Self.user, "--dbname=" + database,
                "--no-psqlrc", "--tuples-only", "--no-align", "--set=ON_ERROR_STOP=1",
                "--field-separator=\u{1F}", "--record-separator=\u{1E}", "--command=" + sql,
            ],
            asClusterOwner: false
        )
        // psql ends the last row with a line break instead of the record separator.
        let text = output.hasSuffix("\n") ? String(output.dropLast()) : output
        guard !text.isEmpty else { return [] }
        return text.split(separator: "\u{1E}", omittingEmptySubsequences: false).map { row in
            row.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
        }
    }
}
