import GRDB
import PaymentsCore

// MARK: - Events

extension SQLiteTransaction {
    /// Records an event.
    public func insert(_ event: Event) throws {
        try insertRow(event)
    }

    /// Records `events` in multi-row INSERTs (``insertRows(_:)``).
    public func insert(events: [Event]) throws {
        try insertRows(events)
    }

    /// The event with `id`, if any.
    public func event(_ id: String) throws -> Event? {
        try fetchOne(Event.self, "SELECT * FROM events WHERE id = ?", [id])
    }

    /// Events, newest first, of any of `types` (all when empty) and within a `created` range.
    public func events(types: [String], created: CreatedFilter?, page: PageRequest) throws -> Page<Event> {
        var filter = Filter()
        if !types.isEmpty {
            filter.clauses.append("type IN (\(Array(repeating: "?", count: types.count).joined(separator: ", ")))")
            filter.arguments += StatementArguments(types)
        }
        if let created { filter.add(created) }
        return try list(Event.self, filter: filter, page: page)
    }

    /// Deletes up to `limit` events created before `cutoff` (oldest first, through `events_created`: see ``SweeperQuery/eventsDue``); returns how
    /// many.
    public func pruneEvents(createdBefore cutoff: Int64, limit: Int) throws -> Int {
        try execute(SweeperQuery.eventsDue.sql, [cutoff, limit])
        return db.changesCount
    }
}
