import Foundation
import Hummingbird
import NIOCore
import PaymentsCore

/// Reads a request's parameters the same way for every route.
enum RequestParameters {
    /// The request's parameters: the query string for GET and DELETE, the body (form or JSON) for POST.
    /// - Throws: 400 for a malformed body, 413 for one over the size limit.
    static func read(_ request: Request, context: StripeRequestContext) async throws -> Parameters {
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
