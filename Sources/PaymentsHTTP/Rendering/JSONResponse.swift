import Hummingbird
import NIOCore
import Payments
import PaymentsCore

/// JSON responses, built the same way for every route: the content type, no caching, and the exact bytes (which
/// the idempotency middleware can save, through ``ResponseCapture``).
enum JSONResponse {
    /// A JSON response.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        bytes(value.serialized(), status: status)
    }

    /// A saved idempotent response, byte for byte.
    static func bytes(_ saved: SavedResponse) -> Response {
        bytes(saved.body, status: .init(code: saved.status))
    }

    /// A JSON response from bytes already serialized (a saved idempotent response, say).
    static func bytes(_ bytes: [UInt8], status: HTTPResponse.Status) -> Response {
        ResponseCapture.current?.record(status: status.code, body: bytes)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-cache, no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
