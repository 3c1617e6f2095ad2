import Hummingbird
import NIOCore

/// `GET /openapi.json`: the API's OpenAPI 3.1 description, without an API key (it describes the routes; it holds no
/// key, customer or card).
///
/// The document is `openapi/openapi.json` at the repository root, built into this module by the `EmbedOpenAPI`
/// plugin (see it for why it is embedded rather than read from disk), so the binary serves the description of the
/// routes it was built with wherever it runs. `OpenAPIRouteTests` fails when a route of the router is missing from
/// it, or it describes one the router lacks.
enum OpenAPIEndpoint {
    /// The document's bytes, converted once.
    static let document: [UInt8] = Array(openAPIDocument.utf8)

    /// The description as JSON; revalidated on every load, like the checkout's files, so a deploy is seen at once.
    static func response() -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json", .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(bytes: document))
        )
    }
}
