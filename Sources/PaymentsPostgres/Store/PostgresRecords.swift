import Foundation
import PaymentsCore

/// How every object maps to its table's columns on PostgreSQL: the same columns and encodings as the SQLite store's
/// `*+Row.swift` files (enums as raw values, booleans as 0/1, nested values as sorted-key JSON text, sealed bytes
/// as BYTEA), written by ``PostgresColumns`` and read back by ``PostgresRowReader``.
enum PostgresRecords {
    // MARK: - PaymentIntent

    static let paymentIntent = PostgresColumns<PaymentIntent>(
        table: "payment_intents",
        primaryKey: ["id"],
        [
            "id": { $0.id },
            "created": { $0.created },
            "amount": { $0.amount },
            "currency": { $0.currency },
            "status": { $0.status.rawValue },
            "capture_method": { $0.captureMethod.rawValue },
            "confirmation_method": { $0.confirmationMethod.rawValue },
            "client_secret": { $0.clientSecret },
            "customer": { $0.customer },
            "payment_method": { $0.paymentMethod },
            "description": { $0.description },
            "receipt_email": { $0.receiptEmail },
            "statement_descriptor": { $0.statementDescriptor },
            "statement_descriptor_suffix": { $0.statementDescriptorSuffix },
            "metadata": { try PostgresJSON.text($0.metadata) },
            "shipping": { try $0.shipping.map(PostgresJSON.text) },
            "setup_future_usage": { $0.setupFutureUsage?.rawValue },
            "amount_capturable": { $0.amountCapturable },
            "amount_received": { $0.amountReceived },
            "latest_charge": { $0.latestCharge },
            "last_payment_error": { try $0.lastPaymentError.map(PostgresJSON.text) },
            "canceled_at": { $0.canceledAt },
            "cancellation_reason": { $0.cancellationReason?.rawValue },
            "return_url": { $0.returnURL },
            "off_session": { $0.offSession },
            "authenticated_payment_method": { $0.authenticatedPaymentMethod },
            "authentication_token": { $0.authenticationToken },
            "attempt_expires_at": { $0.attemptExpiresAt },
            "succeeded_at": { $0.succeededAt },
            "authorized_at": { $0.authorizedAt },
            "origin": { $0.origin.rawValue },
            "settling": { try $0.settling.map(PostgresJSON.text) },
        ]
    )

    static let paymentIntentCompareAndSet = paymentIntent.updateSQL(whereStill: "status")

    static func paymentIntent(_ row: PostgresRowReader) throws -> PaymentIntent {
        var intent = PaymentIntent(
            id: try row.string("id"),
            created: try row.int64("created"),
            amount: try row.int64("amount"),
            currency: try row.string("currency"),
            captureMethod: try row.choice("capture_method"),
            confirmationMethod: try row.choice("confirmation_method"),
            clientSecret: try row.string("client_secret"),
            customer: try row.optionalString("customer"),
            paymentMethod: try row.optionalString("payment_method"),
            description: try row.optionalString("description"),
            receiptEmail: try row.optionalString("receipt_email"),
            statementDescriptor: try row.optionalString("statement_descriptor"),
            statementDescriptorSuffix: try row.optionalString("statement_descriptor_suffix"),
            metadata: try row.json("metadata"),
            setupFutureUsage: try row.optionalChoice("setup_future_usage"),
            origin: try row.choice("origin")
        )
        intent.shipping = try row.optionalJSON("shipping")
        intent.status = try row.choice("status")
        intent.amountCapturable = try row.int64("amount_capturable")
        intent.amountReceived = try row.int64("amount_received")
        intent.latestCharge = try row.optionalString("latest_charge")
        intent.lastPaymentError = try row.optionalJSON("last_payment_error")
        intent.canceledAt = try row.optionalInt64("canceled_at")
        intent.cancellationReason = try row.optionalChoice("cancellation_reason")
        intent.returnURL = try row.optionalString("return_url")
        intent.offSession = try row.bool("off_session")
        intent.authenticatedPaymentMethod = try row.optionalString("authenticated_payment_method")
        intent.authenticationToken = try row.optionalString("authentication_token")
        intent.attemptExpiresAt = try row.optionalInt64("attempt_expires_at")
        intent.succeededAt = try row.optionalInt64("succeeded_at")
        intent.authorizedAt = try row.optionalInt64("authorized_at")
        intent.settling = try row.optionalJSON("settling")
        return intent
    }

    // MARK: - SetupIntent

    static let setupIntent = PostgresColumns<SetupIntent>(
        table: "setup_intents",
        primaryKey: ["id"],
        [
            "id": { $0.id },
            "created": { $0.created },
            "status": { $0.status.rawValue },
            "usage": { $0.usage.rawValue },
            "client_secret": { $0.clientSecret },
            "customer": { $0.customer },
            "payment_method": { $0.paymentMethod },
            "description": { $0.description },
            "metadata": { try PostgresJSON.text($0.metadata) },
            "last_setup_error": { try $0.lastSetupError.map(PostgresJSON.text) },
            "latest_attempt": { $0.latestAttempt },
            "return_url": { $0.returnURL },
            "authentication_token": { $0.authenticationToken },
            "attempt_expires_at": { $0.attemptExpiresAt },
            "succeeded_at": { $0.succeededAt },
            "canceled_at": { $0.canceledAt },
            "cancellation_reason": { $0.cancellationReason?.rawValue },
        ]
    )

    static let setupIntentCompareAndSet = setupIntent.updateSQL(whereStill: "status")

    static func setupIntent(_ row: PostgresRowReader) throws -> SetupIntent {
        var setup = SetupIntent(
            id: try row.string("id"),
            created: try row.int64("created"),
            usage: try row.choice("usage"),
            clientSecret: try row.string("client_secret"),
            customer: try row.optionalString("customer"),
            paymentMethod: try row.optionalString("payment_method"),
            description: try row.optionalString("description"),
            metadata: try row.json("metadata")
        )
        setup.status = try row.choice("status")
        setup.lastSetupError = try row.optionalJSON("last_setup_error")
        setup.latestAttempt = try row.optionalString("latest_attempt")
        setup.returnURL = try row.optionalString("return_url")
        setup.authenticationToken = try row.optionalString("authentication_token")
        setup.attemptExpiresAt = try row.optionalInt64("attempt_expires_at")
        setup.succeededAt = try row.optionalInt64("succeeded_at")
        setup.canceledAt = try row.optionalInt64("canceled_at")
        setup.cancellationReason = try row.optionalChoice("cancellation_reason")
        return setup
    }

    // MARK: - Charge

    static let charge = PostgresColumns<Charge>(
        table: "charges",
        primaryKey: ["id"],
        [
            "id": { $0.id },
            "created": { $0.created },
            "payment_intent": { $0.paymentIntent },
            "payment_method": { $0.paymentMethod },
            "customer": { $0.customer },
            "amount": { $0.amount },
            "currency": { $0.currency },
            "status": { $0.status.rawValue },
            "capture": { $0.capture },
            "captured": { $0.captured },
            "amount_captured": { $0.amountCaptured },
            "amount_refunded": { $0.amountRefunded },
            "failure_code": { $0.failureCode },
            "failure_message": { $0.failureMessage },
            "decline_code": { $0.declineCode },
            "off_session": { $0.offSession },
            "three_d_secure": { $0.threeDSecure },
            "authorization_code": { $0.authorizationCode },
            "resolved_at": { $0.resolvedAt },
            "description": { $0.description },
            "metadata": { try PostgresJSON.text($0.metadata) },
            "receipt_email": { $0.receiptEmail },
            "statement_descriptor": { $0.statementDescriptor },
            "statement_descriptor_suffix": { $0.statementDescriptorSuffix },
            "shipping": { try $0.shipping.map(PostgresJSON.text) },
            "risk_level": { $0.riskLevel?.rawValue },
            "cvc_check": { $0.cvcCheck?.rawValue },
            "address_line1_check": { $0.addressLine1Check?.rawValue },
            "address_postal_code_check": { $0.addressPostalCodeCheck?.rawValue },
            "named_payment_method": { $0.namedPaymentMethod },
        ]
    )

    static func charge(_ row: PostgresRowReader) throws -> Charge {
        var charge = Charge(
            id: try row.string("id"),
            created: try row.int64("created"),
            paymentIntent: try row.string("payment_intent"),
            paymentMethod: try row.optionalString("payment_method"),
            customer: try row.optionalString("customer"),
            amount: try row.int64("amount"),
            currency: try row.string("currency"),
            capture: try row.bool("capture"),
            offSession: try row.bool("off_session"),
            threeDSecure: try row.optionalString("three_d_secure")
        )
        charge.status = try row.choice("status")
        charge.captured = try row.bool("captured")
        charge.amountCaptured = try row.int64("amount_captured")
        charge.amountRefunded = try row.int64("amount_refunded")
        charge.failureCode = try row.optionalString("failure_code")
        charge.failureMessage = try row.optionalString("failure_message")
        charge.declineCode = try row.optionalString("decline_code")
        charge.authorizationCode = try row.optionalString("authorization_code")
        charge.resolvedAt = try row.optionalInt64("resolved_at")
        charge.description = try row.optionalString("description")
        charge.metadata = try row.json("metadata")
        charge.receiptEmail = try row.optionalString("receipt_email")
        charge.statementDescriptor = try row.optionalString("statement_descriptor")
        charge.statementDescriptorSuffix = try row.optionalString("statement_descriptor_suffix")
        charge.shipping = try row.optionalJSON("shipping")
        charge.riskLevel = try row.optionalChoice("risk_level")
        charge.cvcCheck = try row.optionalChoice("cvc_check")
        charge.addressLine1Check = try row.optionalChoice("address_line1_check")
        charge.addressPostalCodeCheck = try row.optionalChoice("address_postal_code_check")
        charge.namedPaymentMethod = try row.optionalInt64("named_payment_method").map { $0 != 0 }
        return charge
    }

    // MARK: - PaymentMethod

    /// Every column but `type`, which keeps its default (every payment method is a card).
    static let paymentMethod = PostgresColumns<PaymentMethod>(
        table: "payment_methods",
        primaryKey: ["id"],
        [
            "id": { $0.id },
            "created": { $0.created },
            "customer": { $0.customer },
            "brand": { $0.brand },
            "last4": { $0.last4 },
            "exp_month": { $0.expMonth },
            "exp_year": { $0.expYear },
            "fingerprint": { $0.fingerprint },
            "funding": { $0.funding },
            "country": { $0.country },
            "cvc_check": { $0.cvcCheck },
            "address_line1_check": { $0.addressLine1Check },
            "address_postal_code_check": { $0.addressPostalCodeCheck },
            "billing_details": { try PostgresJSON.text($0.billingDetails) },
            "metadata": { try PostgresJSON.text($0.metadata) },
            "reusable": { $0.reusable },
            "off_session_ready": { $0.offSessionReady },
        ]
    )

    static func paymentMethod(_ row: PostgresRowReader) throws -> PaymentMethod {
        PaymentMethod(
            id: try row.string("id"),
            created: try row.int64("created"),
            customer: try row.optionalString("customer"),
            brand: try row.string("brand"),
            last4: try row.string("last4"),
            expMonth: try row.int("exp_month"),
            expYear: try row.int("exp_year"),
            fingerprint: try row.string("fingerprint"),
            funding: try row.string("funding"),
            country: try row.optionalString("country"),
            cvcCheck: try row.optionalString("cvc_check"),
            addressLine1Check: try row.optionalString("address_line1_check"),
            addressPostalCodeCheck: try row.optionalString("address_postal_code_check"),
            billingDetails: try row.json("billing_details"),
            metadata: try row.json("metadata"),
            reusable: try row.bool("reusable"),
            offSessionReady: try row.bool("off_session_ready")
        ).withUnrecordedChecksUnchecked()
    }

    // MARK: - Customer

    static let customer = PostgresColumns<Customer>(
        table: "customers",
        primaryKey: ["id"],
        [
            "id": { $0.id },
            "created": { $0.created },
            "email": { $0.email },
            "name": { $0.name },
            "phone": { $0.phone },
            "description": { $0.description },
            "metadata": { try PostgresJSON.text($0.metadata) },
            "default_payment_method": { $0.defaultPaymentMethod },
            "deleted": { $0.deleted },
            "address": { try $0.address.map(PostgresJSON.text) },
            "shipping": { try $0.shipping.map(PostgresJSON.text) },
        ]
    )

    static func customer(_ row: PostgresRowReader) throws -> Customer {
        Customer(
            id: try row.string("id"),
            created: try row.int64("created"),
            email: try row.optionalString("email"),
            name: try row.optionalString("name"),
            phone: try row.optionalString("phone"),
            description: try row.optionalString("description"),
            metadata: try row.json("metadata"),
            defaultPaymentMethod: try row.optionalString("default_payment_method"),
            deleted: try row.bool("deleted"),
            address: try row.optionalJSON("address"),
            shipping: try row.optionalJSON("shipping")
        )
    }

    // MARK: - Refund

    static let refund = PostgresColumns<Refund>(
        table: "refunds",
        primaryKey: ["id"],
        [
            "id": { $0.id },
            "created": { $0.created },
            "charge": { $0.charge },
            "payment_intent": { $0.paymentIntent },
            "amount": { $0.amount },
            "currency": { $0.currency },
            "status": { $0.status.rawValue },
            "reason": { $0.reason?.rawValue },
            "metadata": { try PostgresJSON.text($0.metadata) },
            "failure_reason": { $0.failureReason },
            "settles_at": { $0.settlesAt },
        ]
    )

    static func refund(_ row: PostgresRowReader) throws -> Refund {
        var refund = Refund(
            id: try row.string("id"),
            created: try row.int64("created"),
            charge: try row.string("charge"),
            paymentIntent: try row.string("payment_intent"),
            amount: try row.int64("amount"),
            currency: try row.string("currency"),
            reason: try row.optionalChoice("reason"),
            metadata: try row.json("metadata")
        )
        refund.status = try row.choice("status")
        refund.failureReason = try row.optionalString("failure_reason")
        refund.settlesAt = try row.optionalInt64("settles_at")
        return refund
    }

    // MARK: - Event

    static let event = PostgresColumns<Event>(
        table: "events",
        primaryKey: ["id"],
        [
            "id": { $0.id },
            "created": { $0.created },
            "type": { $0.type },
            "object_type": { $0.objectType.rawValue },
            "object_id": { $0.objectID },
            "snapshot": { String(decoding: $0.snapshot, as: UTF8.self) },
            "previous_snapshot": { $0.previousSnapshot.map { String(decoding: $0, as: UTF8.self) } },
            "request_id": { $0.requestID },
            "idempotency_key": { $0.idempotencyKey },
        ]
    )

    static func event(_ row: PostgresRowReader) throws -> Event {
        Event(
            id: try row.string("id"),
            created: try row.int64("created"),
            type: try row.string("type"),
            objectType: try row.choice("object_type"),
            objectID: try row.string("object_id"),
            snapshot: Array(try row.string("snapshot").utf8),
            previousSnapshot: try row.optionalString("previous_snapshot").map { Array($0.utf8) },
            requestID: try row.optionalString("request_id"),
            idempotencyKey: try row.optionalString("idempotency_key")
        )
    }

    // MARK: - IdempotencyKey

    static let idempotencyKey = PostgresColumns<IdempotencyKey>(
        table: "idempotency_keys",
        primaryKey: ["api_key", "key"],
        [
            "api_key": { $0.apiKey },
            "key": { $0.key },
            "created": { $0.created },
            "expires_at": { $0.expiresAt },
            "method": { $0.method },
            "path": { $0.path },
            "fingerprint": { $0.fingerprint },
            "locked_by": { $0.lockedBy },
            "locked_until": { $0.lockedUntil },
            "recovery_point": { $0.recoveryPoint.rawValue },
            "payment_intent": { $0.paymentIntent },
            "charge": { $0.charge },
            "refund": { $0.refund },
            "request_id": { $0.requestID },
            "response_status": { $0.responseStatus },
            "response_body": { $0.responseBody },
        ]
    )

    static func idempotencyKey(_ row: PostgresRowReader) throws -> IdempotencyKey {
        IdempotencyKey(
            apiKey: try row.string("api_key"),
            key: try row.string("key"),
            created: try row.int64("created"),
            expiresAt: try row.optionalInt64("expires_at"),
            method: try row.string("method"),
            path: try row.string("path"),
            fingerprint: try row.string("fingerprint"),
            lockedBy: try row.optionalString("locked_by"),
            lockedUntil: try row.optionalInt64("locked_until"),
            recoveryPoint: try row.choice("recovery_point"),
            paymentIntent: try row.optionalString("payment_intent"),
            charge: try row.optionalString("charge"),
            refund: try row.optionalString("refund"),
            requestID: try row.string("request_id"),
            responseStatus: try row.optionalInt("response_status"),
            responseBody: try row.optionalData("response_body")
        )
    }
}
