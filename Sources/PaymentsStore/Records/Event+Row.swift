import GRDB
import PaymentsCore

extension Event: FetchableRecord, TableRecord, StoredRow {
    public static let databaseTableName = "events"

    /// Every column: events are written once and never changed.
    static let columns = RowColumns<Event>(
        table: databaseTableName,
        primaryKey: ["id"],
        [
            "id": { $0.id },
            "created": { $0.created },
            "type": { $0.type },
            "object_type": { $0.objectType.rawValue },
            "object_id": { $0.objectID },
            "snapshot": { String(decoding: $0.snapshot, as: UTF8.self) },
        ]
    )

    /// Decodes a row by hand.
    public init(row: Row) throws { try self.init(columns: row) }

    init<Columns: ColumnValues>(columns row: Columns) throws {
        self.init(
            id: row["id"],
            created: row["created"],
            type: row["type"],
            objectType: try RowValue.choice(row, "object_type"),
            objectID: row["object_id"],
            snapshot: Array((row["snapshot"] as String).utf8)
        )
    }
}
