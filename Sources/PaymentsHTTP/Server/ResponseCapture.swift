import Synchronization

/// The bytes of the JSON response a handler built, so the idempotency middleware can save exactly what is sent.
///
/// Set as a task-local around the handler; ``JSONResponse/json(_:status:)`` fills it.
final class ResponseCapture: Sendable {
    @TaskLocal static var current: ResponseCapture?

    private let value = Mutex<(status: Int, body: [UInt8])?>(nil)

    /// Records a response.
    func record(status: Int, body: [UInt8]) { value.withLock { $0 = (status, body) } }

    /// The last response recorded.
    var response: (status: Int, body: [UInt8])? { value.withLock { $0 } }
}
