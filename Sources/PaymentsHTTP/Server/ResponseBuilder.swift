import Foundation
import Hummingbird
import NIOCore
import Payments
import PaymentsCore

/// Builds responses and reads request parameters, the same way for every route.
enum ResponseBuilder {
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

    /// The render options of a request.
    static func options(
        request: Request,
        context: StripeRequestContext,
        services: HTTPServices,
        expand: [String] = []
    ) -> RenderOptions {
        RenderOptions(
            legacyStatusNames: RenderOptions.isLegacy(version: context.apiVersion),
            publishable: context.scope == .publishable,
            expand: Set(expand),
            baseURL: services.baseURL
        )
    }

    /// The request's parameters: the query string for GET and DELETE, the body (form or JSON) for POST.
    /// - Throws: 400 for a malformed body, 413 for one over the size limit.
    static func parameters(_ request: Request, context: StripeRequestContext) async throws -> Parameters {
        if request.method == .get || request.method == .delete {
            return Parameters(try ParameterNode.parseForm(request.uri.query ?? ""))
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw PaymentError.tooLarge
        }
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        if contentType.hasPrefix("application/json") {
            if buffer.readableBytes == 0 { return Parameters([:]) }
            return Parameters(try ParameterNode.parseJSON(Data(buffer.readableBytesView)))
        }
        guard let text = buffer.getString(at: buffer.readerIndex, length: buffer.readableBytes) else {
            throw PaymentError.invalidRequest("The request body is not valid UTF-8.")
        }
        return Parameters(try ParameterNode.parseForm(text))
    }
}
