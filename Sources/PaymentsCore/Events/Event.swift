import Foundation

/// A recorded change of an object, as Stripe's `event`: its type (`payment_intent.succeeded`, ...) and a snapshot of
/// the object right after the change.
///
/// Events are written in the same transaction as the change they record (an outbox), so a change that rolls back
/// leaves no event and a committed one always has its event. They are kept for ``retention`` seconds.
public struct Event: Sendable, Equatable {
    /// The kinds of object an event records.
    public enum ObjectType: String, Sendable, CaseIterable {
        case paymentIntent = "payment_intent"
        case charge
        case refund
        case customer
        case paymentMethod = "payment_method"
        case setupIntent = "setup_intent"
    }

    public var id: String
    /// When the change happened (unix seconds).
    public var created: Int64
    /// Stripe's event type name, such as `payment_intent.succeeded`.
    public var type: String
    public var objectType: ObjectType
    public var objectID: String
    /// The object's state after the change, as the JSON of its Core value (rendered in Stripe's shape when served).
    public var snapshot: [UInt8]
    /// For an `*.updated` event, the object's state before the change, as ``snapshot`` (served as the changed
    /// fields' earlier values, Stripe's `data.previous_attributes`); nil otherwise.
    public var previousSnapshot: [UInt8]?
    /// The API request that made the change (its `Request-Id`), as Stripe's `request.id`; nil for a change the
    /// service made on its own (the sweeper, a recharge run, recovery at start).
    public var requestID: String?
    /// That request's `Idempotency-Key`, as Stripe's `request.idempotency_key`.
    public var idempotencyKey: String?

    /// How long events are kept: 30 days, as Stripe lists them.
    public static let retention: Int64 = 30 * 24 * 3600

    /// Creates an event.
    public init(
        id: String,
        created: Int64,
        type: String,
        objectType: ObjectType,
        objectID: String,
        snapshot: [UInt8],
        previousSnapshot: [UInt8]? = nil,
        requestID: String? = nil,
        idempotencyKey: String? = nil
    ) {
        self.id = id
        self.created = created
        self.type = type
        self.objectType = objectType
        self.objectID = objectID
        self.snapshot = snapshot
        self.previousSnapshot = previousSnapshot
        self.requestID = requestID
        self.idempotencyKey = idempotencyKey
    }

    /// The request an event names (Stripe's `request`): the API request that caused the change, if one did.
    public struct Request: Sendable, Equatable {
        /// Its `Request-Id`.
        public var id: String
        /// Its `Idempotency-Key`, if it had one.
        public var idempotencyKey: String?

        /// Creates a request.
        public init(id: String, idempotencyKey: String?) {
            self.id = id
            self.idempotencyKey = idempotencyKey
        }

        /// The API request being served, if any: set by the HTTP layer around each request, read when a write's
        /// events are made.
        @TaskLocal public static var current: Request?
    }

    /// The object of the snapshot, decoded.
    public func decodeSnapshot<T: Decodable>(as type: T.Type) throws -> T {
        try Self.decode(snapshot, as: type)
    }

    /// An object of a snapshot (``snapshot`` or ``previousSnapshot``), decoded.
    public static func decode<T: Decodable>(_ snapshot: [UInt8], as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(snapshot))
    }
}
