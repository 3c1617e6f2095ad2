import GRDB
import PaymentsCore

extension Event: FetchableRecord, TableRecord, StoredRow {
    public static let databaseTableName = "events"

    /// Every column: events are written once and never changed.
    static let columns = RowColumns<Event>(
        table: databaseTableName,
        primaryKey: ["id"],
        [
            "id": { RowValue.stored($0.id) },
            "created": { RowValue.stored($0.created) },
            "type": { RowValue.stored($0.type) },
            "object_type": { RowValue.stored($0.objectType.rawValue) },
            "object_id": { RowValue.stored($0.objectID) },
            "snapshot": { RowValue.stored(String(decoding: $0.snapshot, as: UTF8.self)) },
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
