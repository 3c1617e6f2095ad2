/// SQL identifiers the service builds statements with from names it read from the database (a report's view).
public enum SQLIdentifier {
    /// `name` as a quoted identifier, on SQLite and PostgreSQL alike: in double quotes, its own doubled. An admin's
    /// view named with a `"` broke `payments report`'s statement on both stores.
    public static func quoted(_ name: String) -> String {
        "\"" + name.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}
