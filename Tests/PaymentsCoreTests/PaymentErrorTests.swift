import PaymentsCore
import Testing

@Suite("Payment errors")
struct PaymentErrorTests {
    @Test(
        "Constructors carry Stripe's type, code, param and status",
        arguments: [
            (PaymentError.parameterMissing("amount"), "invalid_request_error", "parameter_missing", "amount", 400),
            (.parameterUnknown("card[foo]"), "invalid_request_error", "parameter_unknown", "card[foo]", 400),
            (
                .invalidInteger("amount", value: "abc"), "invalid_request_error", "parameter_invalid_integer", "amount",
                400
            ),
            (.invalidEmpty("currency"), "invalid_request_error", "parameter_invalid_empty", "currency", 400),
            (
                .resourceMissing("payment_intent", id: "pi_1", param: "intent", inURL: true), "invalid_request_error",
                "resource_missing", "intent", 404
            ),
            (
                .resourceMissing("PaymentMethod", id: "pm_1", param: "payment_method", inURL: false),
                "invalid_request_error", "resource_missing", "payment_method", 400
            ),
            (.secretKeyRequired, "invalid_request_error", "secret_key_required", nil, 401),
            (.card(code: "card_declined", message: "Declined."), "card_error", "card_declined", nil, 402),
            (.idempotencyKeyInUse(key: "k"), "invalid_request_error", "idempotency_key_in_use", nil, 409),
        ] as [(PaymentError, String, String?, String?, Int)]
    )
    func constructors(error: PaymentError, type: String, code: String?, param: String?, status: Int) {
        #expect(error.kind.rawValue == type)
        #expect(error.code == code)
        #expect(error.param == param)
        #expect(error.status == status)
        #expect(!error.message.isEmpty)
    }

    @Test("No key and an idempotency mismatch have Stripe's types and no code")
    func uncoded() {
        #expect(PaymentError.missingAPIKey.status == 401)
        #expect(PaymentError.missingAPIKey.kind == .invalidRequest)
        #expect(PaymentError.missingAPIKey.code == nil)
        #expect(PaymentError.idempotencyMismatch(key: "k").kind == .idempotency)
        #expect(PaymentError.idempotencyMismatch(key: "k").status == 400)
        #expect(PaymentError.apiError().status == 500)
    }

    @Test("A bad API key is echoed masked as Stripe does: type prefix and last four")
    func maskedKey() {
        // Given a key of a real key's length
        let error = PaymentError.invalidAPIKey("sk_test_51NotOurKeyAtAllAbCdEfGh9876")
        // Then
        #expect(error.status == 401)
        #expect(error.code == "api_key_invalid")
        #expect(error.message == "Invalid API Key provided: sk_test_****9876")
    }

    @Test("A short bad key is masked whole", arguments: ["", "abc", "sk_test_abc", "sk_test_0123456789ab"])
    func shortKey(key: String) {
        // When
        let error = PaymentError.invalidAPIKey(key)
        // Then no character of it beyond what any key shares is shown
        #expect(error.message == "Invalid API Key provided: ****")
    }

    /// Found by a probe: on PostgreSQL a GET behind an admin's `LOCK TABLE` was told about idempotency keys and
    /// payments.
    @Test("A lock held too long is a 429 naming any lock; a read's says a read changes nothing")
    func lockTimeout() {
        let write = PaymentError.storeFailure(.locked(seconds: 5))
        let read = PaymentError.storeFailure(.locked(seconds: 5), read: true)
        for error in [write, read] {
            #expect(error.status == 429 && error.code == PaymentError.lockTimeoutCode)
            #expect(error.message.contains("a PostgreSQL row or table lock"), "\(error.message)")
        }
        #expect(write.message.contains("Idempotency-Key"))
        #expect(!read.message.contains("Idempotency-Key") && read.message.contains("A read changes nothing"))
    }

    @Test("An answer the store could not record is a resumable 500 naming its intent; without a key, not retried")
    func answerNotRecorded() {
        // Given phase three failing on an unreachable database, then on a held write lock
        let unavailable = PaymentError.answerNotRecorded(
            StoreError.unavailable("connection reset"),
            paymentIntent: "pi_1"
        )
        let locked = PaymentError.answerNotRecorded(StoreError.locked(seconds: 5), paymentIntent: "pi_2")
        // Then the first is a 500 that keeps its key resumable, names the intent and says to retry with the key
        #expect(unavailable.status == 500)
        #expect(unavailable.code == PaymentError.answerNotRecordedCode)
        #expect(unavailable.isTransient)
        #expect(unavailable.paymentIntent == "pi_1")
        #expect(unavailable.message.contains("pi_1"))
        #expect(unavailable.message.hasSuffix(PaymentError.cardNetworkRetryAdvice))
        #expect(!unavailable.message.contains("connection reset"), "the store's words go to the log")
        // And the second stays Stripe's lock_timeout, resumable as well
        #expect(locked.status == 429)
        #expect(locked.code == PaymentError.lockTimeoutCode)
        #expect(locked.isTransient)
        #expect(locked.paymentIntent == "pi_2")
        // When either is answered to a request without a key
        for error in [unavailable, locked] {
            let unkeyed = error.withoutIdempotencyKey()
            // Then it is not to be retried, and is told to read the intent rather than to retry with a key
            #expect(unkeyed.retryWouldPayAgain)
            #expect(!error.retryWouldPayAgain)
            #expect(!unkeyed.message.hasSuffix(PaymentError.cardNetworkRetryAdvice))
        }
        #expect(unavailable.withoutIdempotencyKey().message.hasSuffix(PaymentError.cardNetworkUnkeyedAdvice))
    }

    @Test("A refund whose answer a held lock kept out names the refund; a lost commit names its intent to read")
    func namesWhatToRead() {
        // A refund's reservation committed, its answer not recorded: the lock's advice says to read the refund
        let refund = PaymentError.answerNotRecorded(StoreError.locked(seconds: 5), refund: "re_1")
        #expect(refund.code == PaymentError.lockTimeoutCode, "\(refund.message)")
        #expect(refund.message.contains("GET /v1/refunds/re_1"), "\(refund.message)")
        // A payment's first phase whose commit was lost: read the intent (it may not have been created)
        let lost = PaymentError.commitUnknown(.commitUnknown("closed"), paymentIntent: "pi_9", keyed: false)
        #expect(lost.message.contains("GET /v1/payment_intents/pi_9"), "\(lost.message)")
        #expect(lost.paymentIntent == "pi_9" && lost.retryWouldPayAgain)
    }

    @Test("A capture the store did not record says the store's reason as a sentence of its own")
    func outcomeNotRecordedSentences() {
        for reason in ["no database connection within 10.0 seconds", "The database is read-only."] {
            let error = PaymentError.outcomeNotRecorded(
                StoreError.unavailable(reason),
                done: "captured 701",
                paymentIntent: "pi_1"
            )
            // One period between the store's reason and what follows: "seconds This server" read as one sentence
            #expect(error.message.contains(reason.hasSuffix(".") ? "\(reason) This server" : "\(reason). This server"))
            #expect(!error.message.contains(".. "), "\(error.message)")
        }
    }
}
