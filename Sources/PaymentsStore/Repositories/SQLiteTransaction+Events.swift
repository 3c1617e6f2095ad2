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

    /// Events, newest first, of any of `types` (all when empty) and within a `created` range. A type with `*`
    /// (`payment_intent.*`) is a pattern, `*` standing for any text; the caller has checked that it holds no other
    /// pattern character (``EventTypePattern``).
    public func events(types: [String], created: CreatedFilter?, page: PageRequest) throws -> Page<Event> {
        var filter = Filter()
        if !types.isEmpty {
            let patterns = types.filter(EventTypePattern.isPattern)
            let exact = types.filter { !EventTypePattern.isPattern($0) }
            var alternatives: [String] = []
            if !exact.isEmpty {
                alternatives.append("type IN (\(Array(repeating: "?", count: exact.count).joined(separator: ", ")))")
            }
            // GLOB's `*` is the pattern's; its other special characters (`?`, `[`) cannot appear in one.
            alternatives += patterns.map { _ in "type GLOB ?" }
            filter.clauses.append("(" + alternatives.joined(separator: " OR ") + ")")
            filter.arguments += StatementArguments(exact + patterns)
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
