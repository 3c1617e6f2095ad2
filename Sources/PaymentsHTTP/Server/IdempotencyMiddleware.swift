import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import NIOCore
import Payments
import PaymentsCore

/// `Idempotency-Key` on POST requests, as Stripe: the first request with a key runs and its response is saved; the same
/// key with the same parameters replays it (`Idempotent-Replayed: true`), even after a restart; other parameters get a
/// 400 `idempotency_error`; a request still holding the key (its lease has not run out) gets a 409.
///
/// This middleware only translates: it reads the key and the parameters, and hands them to the use-case layer's
/// ``IdempotencyKeys``, which owns the keys, their leases and their storage. Keys are scoped by API key (`/pay`, which
/// has none, uses its own scope) and kept 24 hours. A request that fails validation before executing saves nothing, so
/// a corrected retry runs; declines (402) and server errors (500) are saved, as Stripe does, except a card network that
/// did not answer, which leaves the key resumable. Money-moving endpoints (and a card's create) save their response in
/// the same transaction as their outcome (see ``IdempotencyScope``); the rest are saved here, after the handler.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = StripeRequestContext
    let services: HTTPServices
    /// A fixed scope for keyless endpoints (`/pay`); nil to scope by the request's API key.
    let fixedScope: String?

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // A DELETE names the events of its changes too: `DELETE /v1/customers/:id` records `customer.deleted` and
        // its cards' `payment_method.detached`, which named no request. Only a POST has an Idempotency-Key (Stripe
        // ignores one on GET and DELETE); a GET changes nothing, and goes straight through.
        guard request.method == .post else {
            guard request.method == .delete else { return try await next(request, context) }
            return try await Self.namingEvents(context, key: nil) { try await next(request, context) }
        }
        guard let key = try Self.key(request.headers) else {
            return try await Self.namingEvents(context, key: nil) { try await next(request, context) }
        }
        // The key is stored as sent, so it must not be a card number.
        if CardNumber.appears(in: key) {
            throw PaymentError.cardNumberNotAllowed(param: nil, place: "The Idempotency-Key")
        }
        try RequestParameters.refuseQuery(request)
        try RequestParameters.refuseContentEncoding(request)
        var request = request
        let body = try await RequestParameters.collectBody {
            try await request.collectBody(upTo: context.maxUploadSize)
        }
        let scope = fixedScope ?? context.idempotencyScope
        let contentType = request.headers[.contentType]
        let digest = body.withUnsafeReadableBytes { RequestBodyDigest(contentType: contentType, body: $0) }
        // A retry with the very bytes of one this process replayed already: answered before parsing them.
        if case .replay(let saved, let originalRequest) = services.idempotency.replayed(
            apiKey: scope,
            key: key,
            method: request.method.rawValue,
            path: request.uri.path,
            body: digest
        ) {
            return Self.replay(saved, originalRequest: originalRequest)
        }
        let parameters = try RequestParameters.parseBody(
            body,
            contentType: contentType,
            limit: context.limits.maxFormParameters
        )
        let decision: IdempotencyKeys.Decision
        do {
            decision = try await services.idempotency.begin(
                .init(
                    apiKey: scope,
                    key: key,
                    method: request.method.rawValue,
                    path: request.uri.path,
                    parameters: Self.canonical(parameters),
                    requestID: context.requestID,
                    body: digest
                )
            )
        } catch let error as PaymentError where error.kind == .idempotency {
            // A key reused with other parameters or on another endpoint (the 400 `idempotency_error`): a client's
            // bug worth a graph of its own, beside the 409s of keys in flight
            Counter(label: "payments_idempotency_mismatches_total").increment()
            throw error
        }
        switch decision {
        case .replay(let saved, let originalRequest):
            return Self.replay(saved, originalRequest: originalRequest)
        case .inFlight(let until):
            throw keyInUse(key, until: until)
        case .run(let lease):
            try await services.context.faults.reach(.afterKeyBegin)
            var context = context
            context.idempotency = IdempotentRequest(lease: lease, holder: ScopeHolder())
            context.parsedBody = parameters
            return try await Self.namingEvents(context, key: key) {
                try await run(request, context: context, lease: lease, next: next)
            }
        }
    }

    /// Runs `body` with the request (its id, and `key`) as the one the events of its changes name (Stripe's
    /// `request.id` and `request.idempotency_key`).
    private static func namingEvents(
        _ context: Context,
        key: String?,
        _ body: () async throws -> Response
    ) async throws -> Response {
        try await Event.Request.$current.withValue(
            Event.Request(id: context.requestID, idempotencyKey: key),
            operation: body
        )
    }

    /// The request's `Idempotency-Key`, or nil without one.
    /// - Throws: 400 `idempotency_key_invalid` for two keys (HTTP joined them into one, `a, b`) or a key that is not
    ///   UTF-8: its other bytes each read as U+FFFD, so `order-\xE9` and `order-\xE8` were one key, and the second
    ///   order was answered with the first one's payment, never made.
    static func key(_ headers: HTTPFields) throws(PaymentError) -> String? {
        let fields = headers[fields: .idempotencyKey]
        guard let field = fields.first else { return nil }
        guard fields.count == 1 else {
            throw PaymentError.invalidRequest(
                "Send one Idempotency-Key header; this request has \(fields.count).",
                code: "idempotency_key_invalid"
            )
        }
        // The HTTP parser decodes a field's bytes with replacement before they reach the server's handlers, so a byte
        // that is not UTF-8 arrives as U+FFFD: refused too (no real key holds it)
        guard let key = field.withUnsafeBytesOfValue({ String(validating: $0, as: UTF8.self) }),
            !key.unicodeScalars.contains("\u{FFFD}")
        else {
            throw PaymentError.invalidRequest(
                "The Idempotency-Key must be UTF-8 text; the one sent has bytes that are not.",
                code: "idempotency_key_invalid"
            )
        }
        return key
    }

    /// The saved response of a finished key, marked as a replay of the request `originalRequest`.
    private static func replay(_ saved: SavedResponse, originalRequest: String) -> Response {
        Counter(label: "payments_idempotent_replays_total").increment()
        var response = JSONResponse.bytes(saved)
        response.headers[.idempotentReplayed] = "true"
        response.headers[.originalRequest] = originalRequest
        return response
    }

    /// Runs the handler under the key, then saves its response (unless its final transaction already did) or
    /// releases the key when there is nothing to save. The lease is renewed throughout, the error's answer rendered
    /// between the handler and its saving included (it reads the intent and its payment method).
    private func run(
        _ request: Request,
        context: Context,
        lease: IdempotencyLease,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let keys = services.idempotency
        let capture = ResponseCapture()
        let renewal = services.context.leaseRenewal
        renewal.hold(lease)
        defer { renewal.release(lease) }
        do {
            let response = try await keys.holding(lease) {
                try await ResponseCapture.$current.withValue(capture) {
                    try await next(request, context)
                }
            }
            if context.idempotency?.holder.savedResponse != nil { return response }
            // A decline the handler answered itself (the checkout's `/save-card`) executed too: saved like a 2xx; and
            // so did a refusal it answered after committing under its new key (`/pay`'s late confirm, which expired
            // the attempt), as the thrown one below.
            if let saved = capture.response,
                (200..<300).contains(saved.status) || saved.status == 402 || lease.keyCommitted
            {
                try await services.context.faults.reach(.beforeKeyFinish)
                try await Self.keeping(context) {
                    try await keys.finish(lease, response: SavedResponse(status: saved.status, body: saved.body))
                }
            } else {
                try await Self.keeping(context) { try await keys.release(lease) }
                // A refusal the handler answered itself (`/pay`'s and `/save-card`'s 400s are answers, not thrown
                // errors) may be the doing of a request with the same key that committed after this one found the key
                // new, as a thrown one below may: answered as a retry is. A probe's two `/pay`s with one key and a new
                // card got a 200 and a 400 "PaymentMethod previously used", where the card was charged once.
                if let saved = capture.response, (400..<500).contains(saved.status), saved.status != 409,
                    let settled = try await keys.settledSince(lease)
                {
                    return try answer(settled, key: lease.key)
                }
            }
            return response
        } catch let taken as IdempotencyKeyTaken {
            // A request with the same new key committed first; nothing of this one was: its answer when it has
            // finished, else as a key in flight.
            return try answer(try await keys.settledSince(lease), key: taken.key)
        } catch let error as PaymentError where error.status == 409 {
            // In flight elsewhere, or this request's lease was lost: the key is not this request's to change.
            throw error
        } catch let error as PaymentError where error.isTransient {
            // The card network did not answer: the key keeps its recovery point, so a retry resumes.
            try await Self.keeping(context) { try await keys.release(lease) }
            throw error
        } catch let error as PaymentError
            where (error.status == 402 && !error.failedValidation) || error.status >= 500 || lease.keyCommitted
        {
            // The endpoint executed and failed: save the failure, as Stripe does. A refusal (4xx) counts as executed
            // once a transaction of the request committed under its new key (a confirm that expired its late attempt
            // and then had nothing to charge): released, the key was new again and ran another body, its events
            // naming the first request.
            let body = await ErrorAndRequestIDMiddleware.errorBody(
                error,
                request: request,
                context: context,
                services: services
            )
            try await Self.keeping(context) {
                try await keys.finish(lease, response: SavedResponse(status: error.status, body: body))
            }
            throw error
        } catch {
            try await Self.keeping(context) { try await keys.release(lease) }
            // A refusal on what the request read (a 400 on the intent's state) may be the doing of a request with
            // the same key that committed after this one found the key new: answered as a retry is.
            guard let refusal = error as? PaymentError, refusal.status < 500,
                let settled = try await keys.settledSince(lease)
            else { throw error }
            return try answer(settled, key: lease.key)
        }
    }

    /// Runs the key's bookkeeping after the request's own work (saving its answer, or releasing the key), keeping the
    /// request's answer when it fails: the database that failed the request (down, read-only) fails this write too,
    /// and its error replaced the answer. A keyed payment the network had charged then got the generic 500 saying to
    /// retry, where the same payment without a key was told `payment_not_recorded` and its intent. The key keeps its
    /// lease until it runs out; a retry then resumes from the key's recovery point, as after a crash. A lost lease
    /// (a 409: another request took the key over) is still the answer, as before.
    private static func keeping(_ context: Context, _ bookkeeping: () async throws -> Void) async throws {
        do {
            try await bookkeeping()
        } catch let error as PaymentError where error.status == 409 {
            throw error
        } catch {
            context.logger.error(
                "the idempotency key's bookkeeping failed; the request's own answer is sent",
                metadata: ["error": .string(String(describing: error))]
            )
        }
    }

    /// The answer of a request whose key another request took while it ran (``IdempotencyKeys/settledSince(_:)``):
    /// that request's saved response, or 409 while it runs (or when its row is not to be seen, `settled` nil). The
    /// 409 says how long a holder that died keeps the key, as the one a retry gets at its start does (a probe's
    /// three requests with one key had two wordings).
    private func answer(_ settled: IdempotencyKeys.Decision?, key: String) throws -> Response {
        switch settled {
        case .replay(let saved, let originalRequest):
            return Self.replay(saved, originalRequest: originalRequest)
        case .inFlight(let until):
            throw keyInUse(key, until: until)
        case .run, nil:
            throw keyInUse(key, until: nil)
        }
    }

    /// The 409 for a key another request holds, counted: with the seconds left of the holder's lease when known
    /// (`until`), which a holder that died keeps the key for.
    private func keyInUse(_ key: String, until: Int64?) -> PaymentError {
        Counter(label: "payments_idempotency_conflicts_total").increment()
        return .idempotencyKeyInUse(key: key, freeWithin: until.map { max($0 - services.context.clock.now(), 1) })
    }

    /// The parameters as canonical text, independent of their order in the body; the owner keeps only a keyed
    /// hash of it.
    static func canonical(_ parameters: [String: ParameterNode]) -> String {
        var canonical = ""
        ParameterNode.canonicalize(.map(parameters), prefix: "", into: &canonical)
        return canonical
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
