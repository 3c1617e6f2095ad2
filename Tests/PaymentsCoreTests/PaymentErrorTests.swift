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
}
