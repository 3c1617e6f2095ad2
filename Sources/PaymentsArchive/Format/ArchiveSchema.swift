/// Which tables an archive holds, their columns and their order: the same on SQLite and PostgreSQL, so that an
/// export of either gives the same lines for the same rows.
public enum ArchiveSchema {
    /// Tables an archive does not carry: the migration runners' own bookkeeping (the header names the applied
    /// migrations instead), and the sweeper's leases (which process sweeps a rule now: nothing another database
    /// should inherit).
    public static let bookkeeping: Set<String> = ["grdb_migrations", "schema_migrations", "sweeper_leases"]

    /// The tables whose `rowid` travels as a column: those where lists, the sweeper and the report views break
    /// ties by (created, rowid). SQLite keeps it hidden; the PostgreSQL migrations give these tables an explicit
    /// identity column (see `migrations/postgres/0001_initial.sql`). The others (`card_vault`,
    /// `idempotency_keys`, `vault_secrets`) are read by their keys only, and PostgreSQL gives them no rowid.
    public static let tablesWithRowid: Set<String> = [
        "customers", "payment_methods", "payment_intents", "charges", "refunds", "events", "setup_intents",
    ]

    /// Tables a target may hold rows of and still count as empty, whose rows the archive's replace: the vault's
    /// secrets, which a process makes at start from its vault key (so a `payments migrate` or a start of the
    /// server on the new database writes them) before any payment exists. The archive's are the ones the
    /// archived fingerprints were made with.
    public static let replaceable: Set<String> = ["vault_secrets"]

    /// The archive's columns of `table`, given the database's visible columns in their order.
    static func columns(of table: String, visible: [String]) -> [String] {
        tablesWithRowid.contains(table) ? ["rowid"] + visible.filter { $0 != "rowid" } : visible
    }

    /// The tables in an order where every table comes after those its foreign keys reference (ties by name), so
    /// that rows can be inserted table by table with the keys checked.
    /// - Parameter references: each table and the tables it references.
    static func foreignKeyOrder(_ references: [String: Set<String>]) throws -> [String] {
        var placed: [String] = []
        var done: Set<String> = []
        var remaining = references.keys.sorted()
        while !remaining.isEmpty {
            guard
                let next = remaining.first(where: { table in
                    (references[table] ?? []).allSatisfy { $0 == table || done.contains($0) || references[$0] == nil }
                })
            else {
                throw ArchiveError.schemaDiffers(
                    "the foreign keys of \(remaining.joined(separator: ", ")) form a cycle"
                )
            }
            placed.append(next)
            done.insert(next)
            remaining.removeAll { $0 == next }
        }
        return placed
    }
}
