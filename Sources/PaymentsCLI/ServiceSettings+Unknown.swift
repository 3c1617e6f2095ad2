/// Environment variables under names the service does not read: a misspelt `PAYMENTS_SYNCRONOUS=NORMAL` left the
/// setting at its default without a word. (The config file's unknown names are refused: ``checkSettings(inConfigFile:)``.
/// A variable is only warned about, as the environment may hold other tools' variables under the same prefix.)
extension ServiceSettings {
    /// The environment variables read besides the settings: the config file's path and the test suite's fault point,
    /// and those the repository's scripts and tests read (the binary they run, PostgreSQL's programs), which may be
    /// set where the service runs.
    static let otherEnvironmentNames: Set<String> = [
        "PAYMENTS_CONFIG", "PAYMENTS_FAULT_POINT", "PAYMENTS_FAULT_ACTION", "PAYMENTS_BINARY", "PAYMENTS_POSTGRES_BIN",
    ]

    /// One sentence per `PAYMENTS_*` environment variable that names no setting (``settingKinds``), with the closest
    /// setting's variable when one is near enough to be the one meant.
    static func unknownSettings(environment: [String: String]) -> [String] {
        let settings = Set(settingKinds.keys.map(environmentName))
        let known = settings.union(otherEnvironmentNames)
        return environment.keys.sorted().filter { $0.hasPrefix("PAYMENTS_") && !known.contains($0) }.map { name in
            "The environment variable \(name) is no setting of payments, and is ignored"
                + (closest(to: name, among: settings).map { "; did you mean \($0)?" } ?? ".")
        }
    }

    /// The name among `names` nearest to `name` (case and the `PAYMENTS_` prefix aside), if at most a third of its
    /// letters (at least one, at most three) must change: a misspelling, not another word.
    static func closest(to name: String, among names: Set<String>) -> String? {
        func letters(_ text: String) -> [Character] {
            Array((text.hasPrefix("PAYMENTS_") ? String(text.dropFirst(9)) : text).lowercased())
        }
        let wanted = letters(name)
        let limit = max(1, min(3, wanted.count / 3))
        var best: (name: String, distance: Int)?
        for candidate in names.sorted() {
            let distance = editDistance(wanted, letters(candidate))
            if distance <= limit, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.name
    }

    /// The fewest insertions, deletions, substitutions and swaps of two neighbouring letters that turn `a` into `b`
    /// (Damerau and Levenshtein's distance, each letter swapped at most once).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
