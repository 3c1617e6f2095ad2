/// A `type` filter of `GET /v1/events`: an event type (`payment_intent.succeeded`), or Stripe's group of events with
/// `*` standing for any text (`payment_intent.*`, `*.succeeded`).
public enum EventTypePattern {
    /// Whether `type` is a pattern rather than one type.
    @inlinable
    public static func isPattern(_ type: String) -> Bool { type.utf8.contains(UInt8(ascii: "*")) }

    /// Whether a pattern holds only what event types are made of (lowercase letters, digits, `_` and `.`) besides its
    /// `*`s, so that no other character can act as a wildcard in a store's pattern match (`?` and `[` in SQLite's
    /// GLOB, `%` in PostgreSQL's LIKE).
    public static func isValidPattern(_ pattern: String) -> Bool {
        !pattern.isEmpty
            && pattern.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "*")
            }
    }
}
