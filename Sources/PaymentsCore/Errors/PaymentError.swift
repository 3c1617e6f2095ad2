/// An error in Stripe's taxonomy: what the API answers when a request cannot be carried out.
///
/// Every layer throws this one type (or maps its own failures to it in one place), so the HTTP layer can render
/// Stripe's `{"error": {...}}` object without knowing where the error came from. Tests compare `code`,
/// `declineCode` and `status`, never `message`.
public struct PaymentError: Error, Sendable, Equatable {
    /// Stripe's error `type`.
    public enum Kind: String, Sendable, Codable {
        case invalidRequest = "invalid_request_error"
        case card = "card_error"
        case idempotency = "idempotency_error"
        case api = "api_error"
    }

    /// Stripe's error `type`.
    public var kind: Kind
    /// The short machine-readable code, such as `parameter_missing` or `card_declined`.
    public var code: String?
    /// The issuer's reason for a card decline, such as `insufficient_funds`.
    public var declineCode: String?
    /// Human-readable text; safe to show to customers for card errors.
    public var message: String
    /// The parameter the error relates to, such as `amount` or `card[number]`.
    public var param: String?
    /// The HTTP status code Stripe answers this error with.
    public var status: Int
    /// The PaymentIntent the error concerns; the HTTP layer renders it in its current state.
    public var paymentIntent: String?
    /// The PaymentMethod the error concerns (card errors).
    public var paymentMethod: String?
    /// The failed charge, when a charge attempt was made.
    public var charge: String?
    /// The SetupIntent the error concerns; the HTTP layer renders it in its current state.
    public var setupIntent: String?
    /// The request was refused by a check of what it sent, before anything ran (a card number, expiry or CVC that is
    /// not valid): nothing is saved under its idempotency key, so a retry with the data corrected runs, as after a
    /// 400. Other card errors (a decline) are outcomes of an attempt, saved and replayed.
    public var failedValidation = false
    /// The request had no `Idempotency-Key` and its payment may have been made: a retry would be a new payment, so
    /// the answer does not say `Stripe-Should-Retry: true` (``withoutIdempotencyKey()``).
    public var retryWouldPayAgain = false

    /// Creates an error with every field given.
    public init(
        kind: Kind,
        code: String?,
        declineCode: String? = nil,
        message: String,
        param: String? = nil,
        status: Int,
        paymentIntent: String? = nil,
        paymentMethod: String? = nil,
        charge: String? = nil,
        setupIntent: String? = nil
    ) {
        self.kind = kind
        self.code = code
        self.declineCode = declineCode
        self.message = message
        self.param = param
        self.status = status
        self.paymentIntent = paymentIntent
        self.paymentMethod = paymentMethod
        self.charge = charge
        self.setupIntent = setupIntent
    }
}

// MARK: - Invalid requests

extension PaymentError {
    /// A 400 `invalid_request_error`.
    public static func invalidRequest(_ message: String, code: String? = nil, param: String? = nil) -> PaymentError {
        PaymentError(kind: .invalidRequest, code: code, message: message, param: param, status: 400)
    }

    /// A required parameter is absent.
    public static func parameterMissing(_ param: String) -> PaymentError {
        .invalidRequest("Missing required param: \(param).", code: "parameter_missing", param: param)
    }

    /// A parameter the endpoint does not know.
    public static func parameterUnknown(_ param: String) -> PaymentError {
        .invalidRequest("Received unknown parameter: \(param)", code: "parameter_unknown", param: param)
    }

    /// A value that is not an integer where one is expected.
    public static func invalidInteger(_ param: String, value: String) -> PaymentError {
        // A space around the digits is named: `amount= 2000` read "Invalid integer:  2000", a request that looked fine
        let spaced = value.first?.isWhitespace == true || value.last?.isWhitespace == true
        return .invalidRequest(
            "Invalid integer: \(value)" + (spaced ? " (the value has a space before or after its digits)" : ""),
            code: "parameter_invalid_integer",
            param: param
        )
    }

    /// An empty value where one is required.
    public static func invalidEmpty(_ param: String) -> PaymentError {
        .invalidRequest(
            "You passed an empty string for '\(param)'. We assume empty values are an attempt to unset a parameter; "
                + "however '\(param)' cannot be unset. You should remove '\(param)' from your request or supply "
                + "a non-empty value.",
            code: "parameter_invalid_empty",
            param: param
        )
    }

    /// A value outside the allowed set or shape.
    public static func invalidValue(_ param: String, _ message: String) -> PaymentError {
        .invalidRequest(message, code: "parameter_invalid_string", param: param)
    }

    /// A referenced object that does not exist: 404 when it is the URL's object, 400 when named in the body. An id
    /// that holds a card number (one pasted into a URL) is not repeated: a response is logged by proxies and clients.
    public static func resourceMissing(
        _ objectName: String,
        id: String,
        param: String?,
        inURL: Bool
    ) -> PaymentError {
        PaymentError(
            kind: .invalidRequest,
            code: "resource_missing",
            message: CardNumber.appears(inPathPart: id)
                ? "No such \(objectName): the id given holds a card number (not repeated here); a card number is sent "
                    + "only as card[number] when creating a PaymentMethod."
                : "No such \(objectName): '\(id)'",
            param: param,
            status: inURL ? 404 : 400
        )
    }

    /// Stripe's Search API (`GET /v1/payment_intents/search?query=...`, what `stripe.PaymentIntent.search` calls),
    /// which this service does not serve: a 404 that says so and names the list's filters, rather than reading
    /// `search` as an object id or `query` as an unknown parameter.
    /// - Parameters:
    ///   - objects: the collection's path (`payment_intents`).
    ///   - filters: the filters its list takes, in words.
    public static func searchNotServed(_ objects: String, filters: String) -> PaymentError {
        PaymentError(
            kind: .invalidRequest,
            code: nil,
            message: "Search (GET /v1/\(objects)/search) is not supported by this service. List with filters "
                + "instead (GET /v1/\(objects) takes \(filters)), or query the database with SQL (README, "
                + "\"Reporting with SQL\").",
            status: 404
        )
    }

    /// A route that does not exist. A path that starts with two slashes is most often a client's base URL with a
    /// trailing slash (stripe-python's `base_addresses={"api": "http://host:port/"}` asks for `//v1/customers`, a
    /// probe found): the message says so.
    public static func unrecognizedURL(method: String, path: String) -> PaymentError {
        let slashes =
            path.hasPrefix("//")
            ? " The path starts with two slashes: a base URL that ends in '/' (http://host:port/) puts one before the "
                + "client library's /v1. Set the base URL without the trailing slash."
            : ""
        return PaymentError(
            kind: .invalidRequest,
            code: nil,
            message: "Unrecognized request URL (\(method): \(path)).\(slashes) Please see https://stripe.com/docs or "
                + "we can help at https://support.stripe.com/.",
            status: 404
        )
    }

    /// The operation is not allowed in the PaymentIntent's current status.
    public static func unexpectedState(_ message: String, paymentIntent: String) -> PaymentError {
        PaymentError(
            kind: .invalidRequest,
            code: "payment_intent_unexpected_state",
            message: message,
            status: 400,
            paymentIntent: paymentIntent
        )
    }

    /// The operation is not allowed in the SetupIntent's current status.
    public static func setupIntentUnexpectedState(_ message: String, setupIntent: String) -> PaymentError {
        PaymentError(
            kind: .invalidRequest,
            code: "setup_intent_unexpected_state",
            message: message,
            status: 400,
            setupIntent: setupIntent
        )
    }

    /// A confirm with no payment method, come after the intent's last attempt outlived its confirmation window (the
    /// confirm the seed's client sends after the challenge, too late): says so, not that a payment method is
    /// missing. `paymentIntent` or `setupIntent` names the intent.
    public static func attemptExpired(paymentIntent: String? = nil, setupIntent: String? = nil) -> PaymentError {
        let (object, code, outcome) =
            setupIntent == nil
            ? ("PaymentIntent", "payment_intent_payment_attempt_expired", "confirmed")
            : ("SetupIntent", "setup_intent_setup_attempt_expired", "completed")
        return PaymentError(
            kind: .invalidRequest,
            code: code,
            message: "The confirmation window of this \(object)'s last attempt closed before it was \(outcome), so the "
                + "attempt failed. Confirm it again with a payment method to try again.",
            param: "payment_method",
            status: 400,
            paymentIntent: paymentIntent,
            setupIntent: setupIntent
        )
    }
}

// MARK: - Authentication

extension PaymentError {
    /// No API key was sent.
    public static let missingAPIKey = PaymentError(
        kind: .invalidRequest,
        code: nil,
        message: "You did not provide an API key. You need to provide your API key in the Authorization header, "
            + "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        status: 401
    )

    /// A key that is not one of ours; the message shows at most its type prefix and last four characters, as
    /// Stripe's `sk_test_****1234`.
    public static func invalidAPIKey(_ key: String) -> PaymentError {
        // Showing 8 + 4 characters hides nothing of a short key, so a key must be at least this long for them to
        // be shown; real keys are over 100 characters, and a short one is masked whole.
        let minimumMaskableLength = 24
        let masked =
            key.count >= minimumMaskableLength ? String(key.prefix(8)) + "****" + String(key.suffix(4)) : "****"
        return PaymentError(
            kind: .invalidRequest,
            code: "api_key_invalid",
            message: "Invalid API Key provided: \(masked)",
            status: 401
        )
    }

    /// A publishable key on a call that needs the secret key.
    public static let secretKeyRequired = PaymentError(
        kind: .invalidRequest,
        code: "secret_key_required",
        message: "This API call cannot be made with a publishable API key. Please use a secret API key. You can "
            + "find a list of your API keys at https://dashboard.stripe.com/account/apikeys.",
        status: 401
    )
}

// MARK: - Card errors

extension PaymentError {
    /// A 402 card error from a decline or from invalid card data.
    public static func card(
        code: String,
        declineCode: String? = nil,
        message: String,
        param: String? = nil
    ) -> PaymentError {
        PaymentError(kind: .card, code: code, declineCode: declineCode, message: message, param: param, status: 402)
    }

    /// A 402 card error for card data that is not valid (its number, expiry or CVC), found before anything ran
    /// (``failedValidation``).
    public static func cardData(
        code: String,
        declineCode: String? = nil,
        message: String,
        param: String? = nil
    ) -> PaymentError {
        var error = card(code: code, declineCode: declineCode, message: message, param: param)
        error.failedValidation = true
        return error
    }
}

// MARK: - Idempotency and server errors

extension PaymentError {
    /// The same idempotency key was used with other parameters or another endpoint.
    public static func idempotencyMismatch(key: String, message: String? = nil) -> PaymentError {
        PaymentError(
            kind: .idempotency,
            code: nil,
            message: message
                ?? "Keys for idempotent requests can only be used with the same parameters they were first used "
                + "with. Try using a key other than '\(key)' if you meant to execute a different request.",
            status: 400
        )
    }

    /// Another request with the same idempotency key is still running.
    /// - Parameter freeWithin: the seconds left of the holder's lease, when known: a holder that died (a server
    ///   killed while the request ran) keeps the key that long, and the message says so.
    public static func idempotencyKeyInUse(key: String, freeWithin: Int64? = nil) -> PaymentError {
        let crashed = freeWithin.map {
            " Should the process running it have stopped, a retry after at most \($0) s takes the key over and completes "
                + "the request."
        }
        return PaymentError(
            kind: .invalidRequest,
            code: "idempotency_key_in_use",
            message: "There is currently another in-progress request using this Idempotent Key (that probably means "
                + "you submitted twice, and the other request is still going through): \(key). Please try again "
                + "later." + (crashed ?? ""),
            status: 409
        )
    }

    /// The request's idempotency lease ran out while it ran and another request took the key over: this one may no
    /// longer change anything, and the key's result is the other request's.
    public static func idempotencyLeaseLost(key: String) -> PaymentError {
        PaymentError(
            kind: .invalidRequest,
            code: "idempotency_key_in_use",
            message: "This request took longer than its hold on the Idempotent Key \(key), and another request with "
                + "the same key took it over. Retry with the same key to get that request's result.",
            status: 409
        )
    }

    /// The card network did not answer (a timeout or a transport failure). Whatever it did is found again by
    /// asking it under the same attempt id, so the request is not saved: its retry with the same key resumes.
    public static func cardNetworkUnavailable(_ detail: String) -> PaymentError {
        PaymentError(
            kind: .api,
            code: cardNetworkUnavailableCode,
            message: "The card network did not answer (\(detail)). Nothing was charged twice: "
                + cardNetworkRetryAdvice,
            status: 500
        )
    }

    /// What ``cardNetworkUnavailable(_:)``'s message tells an API client to do; a caller that retries another way
    /// (a recharge run, by its rows' references) says its own instead.
    public static let cardNetworkRetryAdvice = "retry with the same Idempotency-Key to complete the request."

    /// What ``cardNetworkUnavailable(_:)``'s message tells a client whose request had no `Idempotency-Key`: a retry
    /// would be a new payment, while the attempt made stays pending until the sweeper asks the network again.
    public static let cardNetworkUnkeyedAdvice =
        "this request had no Idempotency-Key, so a retry would be a new payment. The attempt stays pending (the "
        + "PaymentIntent is processing) until the sweeper settles it, within a minute: retrieve the PaymentIntent "
        + "to learn whether it succeeded before paying again."

    /// This error as answered to a request without an `Idempotency-Key` (``cardNetworkUnkeyedAdvice``, or for a
    /// `refund`'s creation its own advice), which is not told to retry (``retryWouldPayAgain``).
    public func withoutIdempotencyKey(refund: String? = nil) -> PaymentError {
        var copy = self
        copy.retryWouldPayAgain = true
        guard message.hasSuffix(Self.cardNetworkRetryAdvice) else { return copy }
        let advice =
            refund.map {
                "this request had no Idempotency-Key, so a retry would be a second refund. The refund \($0) stays "
                    + "pending until the sweeper settles it, within a minute: retrieve it (GET /v1/refunds/\($0)) "
                    + "before refunding again."
            } ?? Self.cardNetworkUnkeyedAdvice
        copy.message = String(message.dropLast(Self.cardNetworkRetryAdvice.count)) + advice
        return copy
    }

    /// The card network answered a payment, but the store failed while recording its answer (phase three: the
    /// database unreachable, its disk full, its write lock held by another process): the
    /// attempt stays pending, the PaymentIntent `processing`. A retry with the same key asks the network again under
    /// the same attempt, which answers as before, and records it; the sweeper settles it otherwise. So, like
    /// ``cardNetworkUnavailable(_:)``, it leaves the request resumable (``isTransient``). A write lock held too long
    /// stays Stripe's `lock_timeout`, whose message already says what to do with and without a key.
    public static func answerNotRecorded(_ error: any Error, paymentIntent: String?) -> PaymentError {
        var failure: PaymentError
        if let store = error as? StoreError, case .locked = store {
            failure = storeFailure(store)
        } else {
            let intent = paymentIntent.map { " (\($0))" } ?? ""
            failure = PaymentError(
                kind: .api,
                code: answerNotRecordedCode,
                message: "The card network answered, but the database failed while recording its answer; the "
                    + "PaymentIntent\(intent) stays processing until it is recorded. Nothing was charged twice: "
                    + cardNetworkRetryAdvice,
                status: 500
            )
        }
        failure.paymentIntent = paymentIntent
        return failure
    }

    /// A capture's or a cancel's ``answerNotRecorded(_:paymentIntent:)``: the network `done` it (captured an
    /// amount, released the authorization), and the store kept refusing to record it for as long as the request
    /// waited. The service goes on recording it in the background; the PaymentIntent shows it once the store takes
    /// it. The status and code stay the store's (a 429 `lock_timeout` for a write lock held by another process), the
    /// message says what happened instead of inviting a retry.
    public static func outcomeNotRecorded(_ error: any Error, done: String, paymentIntent: String) -> PaymentError {
        var failure = (error as? StoreError).map { storeFailure($0) } ?? apiError()
        // The store's sentence, ended with a period when its text has none ("... within 10.0 seconds")
        let cause =
            (error as? StoreError).map { reason in
                let text = "\(reason)"
                return text.hasSuffix(".") ? text + " " : text + ". "
            } ?? ""
        failure.message =
            "The card network \(done) for PaymentIntent \(paymentIntent), but the database would not record it. "
            + cause + "This server goes on recording it in the background, and the PaymentIntent shows it as soon as "
            + "the database takes the write. Do not send the request again: read the PaymentIntent."
        failure.paymentIntent = paymentIntent
        failure.retryWouldPayAgain = true
        return failure
    }

    /// A refund's ``answerNotRecorded(_:paymentIntent:)``: the network answered it, and the refund stays `pending`
    /// until its answer is recorded.
    public static func answerNotRecorded(_ error: any Error, refund: String) -> PaymentError {
        if let store = error as? StoreError, case .locked = store {
            // The lock's own advice says to read what the request changed: the refund, named (it was not)
            var failure = storeFailure(store)
            failure.message +=
                " The refund is \(refund) (pending until its answer is recorded): GET /v1/refunds/\(refund)."
            return failure
        }
        return PaymentError(
            kind: .api,
            code: answerNotRecordedCode,
            message: "The card network answered, but the database failed while recording its answer; the refund "
                + "\(refund) stays pending until it is recorded. Nothing was refunded twice: " + cardNetworkRetryAdvice,
            status: 500
        )
    }

    /// The code of a store's ``StoreError/commitUnknown(_:)``.
    public static let commitUnknownCode = "database_commit_unknown"

    /// A store's ``StoreError/commitUnknown(_:)`` for the write of a request that pays or refunds: named by the
    /// object it would have made or changed (`payment_intent`, or a refund's id in the message), and, for a request
    /// without an idempotency key, told not to retry (``withoutIdempotencyKey(refund:)``'s advice: read it first).
    public static func commitUnknown(
        _ error: StoreError,
        paymentIntent: String?,
        refund: String? = nil,
        keyed: Bool
    ) -> PaymentError {
        var failure = storeFailure(error)
        failure.paymentIntent = paymentIntent
        if let refund {
            failure.message += " The refund would be \(refund): GET /v1/refunds/\(refund)."
        } else if let paymentIntent {
            // Named in the text as well: the error's `payment_intent` shows the intent only when it can be read, and an
            // intent whose creation did not commit cannot (a probe's client, without a key, had no id to read)
            failure.message +=
                " The PaymentIntent is \(paymentIntent): GET /v1/payment_intents/\(paymentIntent) shows whether the "
                + "change was made (a 404: it was not created)."
        }
        if !keyed { failure.retryWouldPayAgain = true }
        return failure
    }

    /// The code of ``answerNotRecorded(_:paymentIntent:)``.
    public static let answerNotRecordedCode = "payment_not_recorded"

    /// The code of ``cardNetworkUnavailable(_:)``.
    public static let cardNetworkUnavailableCode = "card_network_unavailable"

    /// Whether the request stopped on a passing failure and must stay resumable: its idempotency key keeps its
    /// recovery point, unlocked, and saves no response, so a retry with the key carries on.
    public var isTransient: Bool {
        code == Self.cardNetworkUnavailableCode || code == Self.answerNotRecordedCode || code == Self.lockTimeoutCode
            || code == Self.commitUnknownCode
    }

    /// Stripe's code for a write lock held too long (``storeFailure(_:)``).
    public static let lockTimeoutCode = "lock_timeout"

    /// What a write lock held too long (``storeFailure(_:)``) tells an API client after the store's words; a caller
    /// that retries another way (a recharge run) says its own instead.
    public static let lockedRetryAdvice =
        " This request could not finish. Retry it with the same Idempotency-Key: it goes on from where it stopped, and "
        + "nothing is charged twice. Without a key, read what it would have changed (the PaymentIntent) before "
        + "sending it again."

    /// What a commit of unknown outcome (``storeFailure(_:)``) tells an API client after the store's words.
    public static let commitUnknownRetryAdvice =
        " Whether this request's change was made is not known. Retry it with the same Idempotency-Key: it goes on "
        + "from where it stopped, and nothing is charged twice. Without a key, read what it would have changed before "
        + "sending it again: a payment or a refund that was recorded is completed by the server within a minute."

    /// A store's failure as the API answers it: a write lock another process held too long is Stripe's
    /// `lock_timeout` (a 429, with `Stripe-Should-Retry`, that its libraries retry with their key); the others an
    /// `api_error` 500.
    /// - Parameter read: the request only reads (a GET): nothing of it ran, and its retry changes nothing either.
    public static func storeFailure(_ error: StoreError, read: Bool = false) -> PaymentError {
        switch error {
        case .locked where read:
            // A read waits for a lock only on PostgreSQL, behind an admin's `LOCK TABLE`: the advice about keys and
            // payments below was no answer to a GET
            PaymentError(
                kind: .invalidRequest,
                code: lockTimeoutCode,
                message: "\(error) A read changes nothing: retry it.",
                status: 429
            )
        case .locked:
            PaymentError(
                kind: .invalidRequest,
                code: lockTimeoutCode,
                // What the request had committed before (a create+confirm's first phase) stands, and its key keeps
                // where it stopped: "nothing was changed" would be untrue then, and tell a client without a key to
                // pay again
                message: "\(error)" + lockedRetryAdvice,
                status: 429
            )
        case .commitUnknown:
            PaymentError(
                kind: .api,
                code: commitUnknownCode,
                message: "\(error)" + commitUnknownRetryAdvice,
                status: 500
            )
        case .storage, .fileDisplaced:
            // It was "An unknown error occurred" (a probe on a full disk): the client cannot mend it, but its
            // operator can, and the retry advice is the lock's (what committed before stands)
            PaymentError(kind: .api, code: nil, message: "\(error)" + lockedRetryAdvice, status: 500)
        case .conflict, .unavailable, .constraintViolated:
            // Their text may name the database's objects or its host: the log has it, the client the usual words
            apiError()
        }
    }

    /// An unexpected failure on our side; the request may be retried.
    public static func apiError(_ message: String = "An unknown error occurred.") -> PaymentError {
        PaymentError(kind: .api, code: nil, message: message, status: 500)
    }
}

// MARK: - Stopping

extension PaymentError {
    /// Stripe has no code for this one; a client can tell it from other 503s by it.
    public static let notRunWhileStoppingCode = "server_stopping"

    /// The codes of this service's own, which Stripe does not have: their errors have no `doc_url` (a link to
    /// Stripe's error-code pages named pages that do not exist).
    public static let ownCodes: Set<String> = [
        commitUnknownCode, answerNotRecordedCode, cardNetworkUnavailableCode, notRunWhileStoppingCode,
    ]

    /// A 503 for a request that came, while the server drained, on a connection after an answer that said
    /// `Connection: close`: it was not run.
    public static let notRunWhileStopping = PaymentError(
        kind: .api,
        code: notRunWhileStoppingCode,
        message: "The server is shutting down and did not run this request: it came on a connection after an answer "
            + "that closed the connection. Nothing was done; send it again (on a new connection).",
        status: 503
    )
}
