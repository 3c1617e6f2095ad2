import GRDB

/// The rows a write transaction has read by id, inserted or saved, as they now stand in the database: the `before`
/// of its next save of each, so that the save writes only the columns that changed
/// (``SQLiteTransaction/updateRow(_:)``).
///
/// Only the rows the store saves whole are kept (intents, setup intents, charges, payment methods, customers,
/// refunds), by the methods of ``SQLiteTransaction`` that read, insert or save one of them. A statement of the
/// store that changes such rows any other way forgets them first (``forget(_:)``, ``forgetAll(_:)``). The
/// transaction holds the write lock from its first statement to its last, so nothing else changes them in between;
/// a statement that fails changes nothing, and a transaction that rolls back takes this with it.
final class StoredRows {
    private struct Key: Hashable {
        let type: ObjectIdentifier
        let key: DatabaseValue
    }

    private var rows: [Key: Any] = [:]

    /// Keeps `row` as the database now holds it.
    func remember<Record: StoredRow>(_ row: Record) throws {
        rows[try key(of: row)] = row
    }

    /// The row with `row`'s primary key as the database now holds it, if this transaction has it.
    func row<Record: StoredRow>(like row: Record) throws -> Record? {
        rows[try key(of: row)] as? Record
    }

    /// Drops the row with `row`'s primary key: the database may hold something else now.
    func forget<Record: StoredRow>(_ row: Record) throws {
        rows[try key(of: row)] = nil
    }

    /// Drops every row of `type`.
    func forgetAll<Record: StoredRow>(_ type: Record.Type) {
        rows = rows.filter { $0.key.type != ObjectIdentifier(type) }
    }

    private func key<Record: StoredRow>(of row: Record) throws -> Key {
        Key(type: ObjectIdentifier(Record.self), key: try Record.columns.keyValue(of: row))
    }
}
