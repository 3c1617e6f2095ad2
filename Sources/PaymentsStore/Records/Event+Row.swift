import GRDB
import PaymentsCore

extension Event: FetchableRecord, TableRecord, StoredRow {
    public static let databaseTableName = "events"

    /// Every column: events are written once and never changed.
    ///
    /// An event's `created` is raised to the newest stored event's, so that `created` never goes back in the order
    /// events commit (their rowids). `GET /v1/events` pages by `(created, rowid)`: an event stamped a moment before
    /// another (its transaction's time, read before the write) but committed after it, across a second's boundary,
    /// sorted before it, and a client polling with `ending_before` the newest event it had seen never saw it. Writers
    /// of one file commit one at a time, so the newest stored event is the last committed one. One index seek
    /// (`events_created`) inside the INSERT, no statement of its own.
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
            "previous_snapshot": { RowValue.stored($0.previousSnapshot.map { String(decoding: $0, as: UTF8.self) }) },
            "request_id": { RowValue.stored($0.requestID) },
            "idempotency_key": { RowValue.stored($0.idempotencyKey) },
        ],
        insertedAs: ["created": "max(?, ifnull((SELECT max(created) FROM events), 0))"]
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
            snapshot: Array((row["snapshot"] as String).utf8),
            previousSnapshot: (row["previous_snapshot"] as String?).map { Array($0.utf8) },
            requestID: row["request_id"],
            idempotencyKey: row["idempotency_key"]
        )
    }
}
