import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Payments
import PaymentsCore
import PaymentsStore

/// `Idempotency-Key` on POST requests, as Stripe: the first request with a key runs and its response is saved;
/// the same key with the same parameters replays it (`Idempotent-Replayed: true`), even after a restart; other
/// parameters get a 400 `idempotency_error`; a request still running with the key gets a 409.
///
/// Keys are scoped by API key (`/pay`, which has none, uses its own scope) and kept 24 hours. A request that
/// fails validation before executing saves nothing, so a corrected retry runs; declines (402) and server errors
/// (500) are saved, as Stripe does. Money-moving endpoints save their response in the same transaction as
/// their outcome (see ``IdempotencyScope``); the rest are saved here, after the handler.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = StripeRequestContext
    let services: HTTPServices
    /// A fixed scope for keyless endpoints (`/pay`); nil to scope by the request's API key.
    let fixedScope: String?

    /// Stripe's limit on the key's length.
    static let maximumKeyLength = 255

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard request.method == .post, let key = request.headers[.idempotencyKey] else {
            return try await next(request, context)
        }
        guard !key.isEmpty, key.count <= Self.maximumKeyLength else {
            throw PaymentError.invalidRequest(
                "Idempotency-Key must be between 1 and \(Self.maximumKeyLength) characters long; the one sent has "
                    + "\(key.count).",
                code: "idempotency_key_invalid"
            )
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: context.maxUploadSize)
        } catch {
            throw PaymentError.tooLarge
        }
        let fingerprint = try Self.fingerprint(request: request, body: body)
        let apiKey = fixedScope ?? context.apiKeyHash
        let now = services.context.clock.now()
        let (requestID, instance, path) = (context.requestID, services.instanceID, request.uri.path)
        let method = request.method.rawValue
        let begin = try await services.context.database.write { tx in
            try tx.beginIdempotentRequest(
                apiKey: apiKey,
                key: key,
                method: method,
                path: path,
                fingerprint: fingerprint,
                requestID: requestID,
                instance: instance,
                now: now
            )
        }
        switch begin {
        case .replay(let row):
            var response = ResponseBuilder.bytes(
                Array(row.responseBody ?? Data()),
                status: .init(code: row.responseStatus ?? 500)
            )
            response.headers[.idempotentReplayed] = "true"
            response.headers[.originalRequest] = row.requestID
            return response
        case .inFlight:
            throw PaymentError.idempotencyKeyInUse(key: key)
        case .mismatch(let samePath, let firstPath):
            throw PaymentError.idempotencyMismatch(
                key: key,
                message: samePath
                    ? nil
                    : "Keys for idempotent requests can only be used for the same endpoint they were first used for "
                        + "('\(firstPath)' vs '\(path)'). Try using a key other than '\(key)' if you meant to "
                        + "execute a different request."
            )
        case .proceed(let row):
            var context = context
            context.idempotency = IdempotentRequest(
                apiKey: apiKey,
                key: key,
                resumeIntent: row.paymentIntent,
                resumeCharge: row.charge,
                holder: ScopeHolder()
            )
            return try await run(request, context: context, next: next)
        }
    }

    /// Runs the handler under the key, then saves its response (unless its final transaction already did) or
    /// forgets the key when the request never executed.
    private func run(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let idempotency = context.idempotency else { return try await next(request, context) }
        let capture = ResponseCapture()
        let database = services.context.database
        do {
            let response = try await ResponseCapture.$current.withValue(capture) {
                try await next(request, context)
            }
            if idempotency.holder.savedResponse != nil { return response }
            if let saved = capture.response, (200..<300).contains(saved.status) {
                try await database.write { tx in
                    try tx.finishIdempotentRequest(
                        apiKey: idempotency.apiKey,
                        key: idempotency.key,
                        status: saved.status,
                        body: Data(saved.body)
                    )
                }
            } else {
                try await release(idempotency)
            }
            return response
        } catch let error as PaymentError where error.status == 402 || error.status >= 500 {
            // The endpoint executed and failed: save the failure, as Stripe does.
            let body = await StripeMiddleware.errorBody(error, request: request, context: context, services: services)
            try await database.write { tx in
                try tx.finishIdempotentRequest(
                    apiKey: idempotency.apiKey,
                    key: idempotency.key,
                    status: error.status,
                    body: Data(body)
                )
            }
            throw error
        } catch {
            try await release(idempotency)
            throw error
        }
    }

    /// Forgets a key whose request did not execute (or unlocks one that recorded progress).
    private func release(_ idempotency: IdempotentRequest) async throws {
        try await services.context.database.write { tx in
            try tx.abandonIdempotentRequest(apiKey: idempotency.apiKey, key: idempotency.key)
        }
    }

    /// A hash of the method, path and parameters, independent of their order in the body.
    static func fingerprint(request: Request, body: ByteBuffer) throws -> String {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let nodes: [String: ParameterNode]
        if contentType.hasPrefix("application/json") {
            nodes = body.readableBytes == 0 ? [:] : try ParameterNode.parseJSON(Data(body.readableBytesView))
        } else {
            nodes = try ParameterNode.parseForm(String(buffer: body))
        }
        var canonical = "\(request.method.rawValue) \(request.uri.path)\n"
        ParameterNode.canonicalize(.map(nodes), prefix: "", into: &canonical)
        return SHA256.hash(data: Data(canonical.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

extension ParameterNode {
    /// Writes `node` as sorted `key=value` lines (lists keep their order).
    static func canonicalize(_ node: ParameterNode, prefix: String, into output: inout String) {
        switch node {
        case .value(let value):
            output += "\(prefix)=\(value)\n"
        case .list(let items):
            for (index, item) in items.enumerated() { canonicalize(item, prefix: "\(prefix)[\(index)]", into: &output) }
        case .map(let map):
            for (key, child) in map.sorted(by: { $0.key < $1.key }) {
                canonicalize(child, prefix: prefix.isEmpty ? key : "\(prefix)[\(key)]", into: &output)
            }
        }
    }
}
