import Foundation
import Payments
import PaymentsCore
import TestSupport
import Testing

/// Stripe's refund test cards through the real router, with the sweeper's later pass: `4000000000007726` (the refund
/// is `pending`, then `succeeded`) and `4000000000005126` (`succeeded`, then `failed`, the amount back on the charge).
@Suite("Refund test cards")
struct RefundCardsRouteTests {
    /// Pays 1000 usd with `paymentMethod` and refunds it in full; returns the intent, charge and refund ids.
    static func paidAndRefunded(_ api: WireClient, _ paymentMethod: String) async throws -> (
        intent: String, charge: String, refund: WireJSON
    ) {
        let paid = try await api.payment([("payment_method", paymentMethod), ("confirm", "true")])
        try #require(paid.json["status"]?.string == "succeeded", "\(paid.text)")
        let refund = try await api.post("/v1/refunds", [("payment_intent", try #require(paid.json["id"]?.string))])
        try #require(refund.status == 200, "\(refund.text)")
        return (
            try #require(paid.json["id"]?.string), try #require(paid.json["latest_charge"]?.string), refund.json
        )
    }

    /// One sweeper pass, `seconds` after the test clock's now.
    static func sweep(_ api: WireClient, after seconds: Int64) async throws -> SweepReport {
        try await Sweeper(context: api.environment.context).sweep(now: api.environment.clock.now + seconds)
    }

    @Test("4000000000007726: the refund is pending, then succeeded after the sweeper's pass a minute later")
    func pendingThenSucceeds() async throws {
        try await withWire { api in
            // Given a 7726 payment refunded in full
            let (_, chargeID, refund) = try await Self.paidAndRefunded(api, "pm_card_pendingRefund")
            let refundID = try #require(refund["id"]?.string)

            // Then the refund is pending, and the charge already counts it
            #expect(refund["status"]?.string == "pending")
            #expect(refund.has("failure_reason") == false)
            #expect(refund.has("failure_balance_transaction") == false)
            let charge = try await api.get("/v1/charges/\(chargeID)").json
            #expect(charge["amount_refunded"]?.int == 1000)
            #expect(charge["refunds"]?["data"]?[0]?["status"]?.string == "pending")

            // When the sweeper runs a minute later
            let report = try await Self.sweep(api, after: TestModeIssuer.refundSettlementDelay)

            // Then the refund succeeded; a retrieve and the charge's list show it
            #expect(report.refundsUpdated == 1)
            #expect(try await api.get("/v1/refunds/\(refundID)").json["status"]?.string == "succeeded")
            let settled = try await api.get("/v1/charges/\(chargeID)").json
            #expect(settled["refunds"]?["data"]?[0]?["status"]?.string == "succeeded")
            #expect(settled["amount_refunded"]?.int == 1000)
            #expect(settled["refunded"]?.bool == true)
        }
    }

    @Test("4000000000005126: the refund succeeded, then fails a minute later and the charge is refundable again")
    func succeedsThenFails() async throws {
        try await withWire { api in
            // Given a 5126 payment refunded in full
            let (intentID, chargeID, refund) = try await Self.paidAndRefunded(api, "pm_card_refundFail")
            let refundID = try #require(refund["id"]?.string)

            // Then the refund succeeded, and the charge is refunded
            #expect(refund["status"]?.string == "succeeded")
            #expect(try await api.get("/v1/charges/\(chargeID)").json["refunded"]?.bool == true)

            // When the sweeper runs a minute later
            let report = try await Self.sweep(api, after: TestModeIssuer.refundSettlementDelay)

            // Then the refund failed with a reason, and the amount is back on the charge
            #expect(report.refundsUpdated == 1)
            let failed = try await api.get("/v1/refunds/\(refundID)").json
            #expect(failed["status"]?.string == "failed")
            #expect(failed["failure_reason"]?.string == "expired_or_canceled_card")
            #expect(failed.has("failure_balance_transaction") && failed["failure_balance_transaction"]?.isNull == true)
            let charge = try await api.get("/v1/charges/\(chargeID)").json
            #expect(charge["amount_refunded"]?.int == 0)
            #expect(charge["refunded"]?.bool == false)
            #expect(charge["refunds"]?["data"]?[0]?["status"]?.string == "failed")

            // And the merchant may refund it again
            let again = try await api.post("/v1/refunds", [("payment_intent", intentID)])
            #expect(again.status == 200)
            #expect(again.json["amount"]?.int == 1000)
        }
    }

    @Test("POST /v1/refunds/:id/cancel: a card refund, pending or succeeded, is a 400 that changes nothing")
    func cancelRefused() async throws {
        try await withWire { api in
            // Given a pending refund (7726) and a succeeded one (4242)
            let (_, _, pending) = try await Self.paidAndRefunded(api, "pm_card_pendingRefund")
            let (_, chargeID, succeeded) = try await Self.paidAndRefunded(api, "pm_card_visa")
            for (refund, status) in [(pending, "pending"), (succeeded, "succeeded")] {
                let id = try #require(refund["id"]?.string)
                let eventsBefore = try await api.get("/v1/events").json["data"]?.array?.count

                // When it is canceled (stripe.Refund.cancel)
                let canceled = try await api.post("/v1/refunds/\(id)/cancel", [])

                // Then a 400 names its status (it was a 404 "Unrecognized request URL"), and nothing changed
                #expect(canceled.status == 400, "\(canceled.text)")
                #expect(canceled.error["type"]?.string == "invalid_request_error")
                let message = canceled.error["message"]?.string ?? ""
                #expect(message.contains("status of \(status)") && message.contains("requires_action"), "\(message)")
                #expect(try await api.get("/v1/refunds/\(id)").json["status"]?.string == status)
                #expect(try await api.get("/v1/events").json["data"]?.array?.count == eventsBefore)
            }
            #expect(try await api.get("/v1/charges/\(chargeID)").json["amount_refunded"]?.int == 1000)

            // And an unknown refund is the 404 resource_missing, a publishable key the 401, a parameter a 400
            let unknown = try await api.post("/v1/refunds/re_unknown/cancel", [])
            #expect(unknown.status == 404 && unknown.error["code"]?.string == "resource_missing", "\(unknown.text)")
            let id = try #require(succeeded["id"]?.string)
            let publishable = try await api.post("/v1/refunds/\(id)/cancel", [], auth: WireClient.publishable)
            #expect(publishable.status == 401, "\(publishable.text)")
            let parameter = try await api.post("/v1/refunds/\(id)/cancel", [("amount", "10")])
            #expect(parameter.status == 400 && parameter.error["param"]?.string == "amount", "\(parameter.text)")
        }
    }

    @Test(
        "a refund's fields Stripe expands that are always null here expand to null (the failure one where it is shown)",
        arguments: ["failure_balance_transaction", "source_transfer_reversal", "transfer_reversal"]
    )
    func alwaysNullFieldsExpandToNull(field: String) async throws {
        try await withWire { api in
            // Given a 5126 payment, refunded in full with the field expanded
            let paid = try await api.payment([("payment_method", "pm_card_refundFail"), ("confirm", "true")])
            let intentID = try #require(paid.json["id"]?.string, "\(paid.text)")
            let chargeID = try #require(paid.json["latest_charge"]?.string)
            let created = try await api.post("/v1/refunds", [("payment_intent", intentID), ("expand[]", field)])
            let id = try #require(created.json["id"]?.string, "\(created.text)")

            // When it has failed, and is read, updated and listed with the field expanded, and read as its charge's
            _ = try await Self.sweep(api, after: TestModeIssuer.refundSettlementDelay)
            let read = try await api.get("/v1/refunds/\(id)", [("expand[]", field)])
            let updated = try await api.post("/v1/refunds/\(id)", [("metadata[order]", "7"), ("expand[]", field)])
            let listed = try await api.get("/v1/refunds", [("expand[]", "data." + field)])
            let ofCharge = try await api.get("/v1/charges/\(chargeID)/refunds/\(id)", [("expand[]", field)])

            // Then each answers 200 with the field there and null, as Stripe expands a null field
            for response in [created, read, updated, listed, ofCharge] {
                #expect(response.status == 200, "\(response.text)")
            }
            #expect(read.json["status"]?.string == "failed", "\(read.text)")
            for object in [read.json, updated.json, listed.json["data"]?[0] ?? .null, ofCharge.json] {
                #expect(object.at(field) == WireJSON.null, "\(object)")
            }
            // And the refund as created (succeeded) shows the field as it does unexpanded: a failure's only once failed
            if field == "failure_balance_transaction" {
                #expect(created.json.has(field) == false, "\(created.text)")
            } else {
                #expect(created.json.at(field) == WireJSON.null, "\(created.text)")
            }

            // And a path below it, and a name Stripe lacks, are still the 400
            let below = try await api.get("/v1/refunds/\(id)", [("expand[]", field + ".charge")])
            let unknown = try await api.get("/v1/refunds/\(id)", [("expand[]", field + "s")])
            #expect(below.refusesExpanding(field + ".charge"), "\(below.text)")
            #expect(unknown.refusesExpanding(field + "s"), "\(unknown.text)")
        }
    }
}
