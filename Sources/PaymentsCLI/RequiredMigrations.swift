import PaymentsPostgres
import PaymentsStore

/// The newest migration this build's code needs, for each store: compiled in, so that a migrations folder older
/// than the binary is refused at start instead of served.
///
/// The folder is read at run time (`--migrations`, `PAYMENTS_MIGRATIONS`, the config file's `migrations`). A server
/// started with the previous release's folder migrated to that folder's newest migration, answered `/health/ready`
/// 200 ready, and failed every payment with a 500 (`table payment_intents has no column named shipping`): the code
/// writes columns only a later migration makes. A folder with more migrations than these (a newer release's folder
/// under an older binary) is used as before: its further migrations are applied.
///
/// `RequiredMigrationsTests` fails when a migration is added to `migrations/` or `migrations/postgres/` and the
/// constant here is not moved to it.
enum RequiredMigrations {
    /// The newest migration of `migrations/`.
    static let sqlite = "0016_attempt_named_method"
    /// The newest migration of `migrations/postgres/`.
    static let postgres = "0016_attempt_named_method"

    /// A migrations folder without the migration this build needs: an older release's folder.
    struct FolderTooOld: Error, CustomStringConvertible {
        /// The folder, as the settings name it.
        let folder: String
        /// Whether it is PostgreSQL's folder (`postgres/` inside the migrations folder).
        let postgres: Bool
        /// The newest migration it holds.
        let newest: String
        /// The migration this build needs.
        let required: String

        var description: String {
            let kind = postgres ? "PostgreSQL migrations folder" : "migrations folder"
            let release = postgres ? "migrations/postgres" : "migrations"
            return
                "The \(kind) '\(folder)' is older than this build: its newest migration is \(newest), and this build "
                + "needs \(required) (its code uses the tables that migration makes). Copy the .sql files of this "
                + "release's \(release) folder into it, or set PAYMENTS_MIGRATIONS (or --migrations) to this release's "
                + "migrations folder. Nothing was changed."
        }
    }

    /// Refuses `folder`'s migrations, `names` in the order they apply, when they lack `required`.
    static func check(_ names: [String], folder: String, required: String, postgres: Bool) throws(FolderTooOld) {
        guard !names.contains(required) else { return }
        throw FolderTooOld(folder: folder, postgres: postgres, newest: names.last ?? "none", required: required)
    }

    /// ``check(_:folder:required:postgres:)`` for SQLite's folder.
    static func check(_ set: MigrationSet, folder: String) throws(FolderTooOld) {
        try check(set.migrations.map(\.name), folder: folder, required: sqlite, postgres: false)
    }

    /// ``check(_:folder:required:postgres:)`` for PostgreSQL's folder.
    static func check(_ set: PostgresMigrationSet, folder: String) throws(FolderTooOld) {
        try check(set.migrations.map(\.name), folder: folder, required: postgres, postgres: true)
    }
}
