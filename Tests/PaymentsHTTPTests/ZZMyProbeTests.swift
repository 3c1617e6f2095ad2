import Foundation
import TestSupport
import Testing

@Suite struct ZZMyProbeTests {
    @Test func probeDeletedCustomerDuringChallenge() async throws {
        try await withWire { api in
            let customer = try await api.createCustomer()
            let card = try await api.card("4000002500003155")
            let p = try await api.payment([("customer", customer), ("payment_method", card), ("setup_future_usage", "off_session"), ("confirm", "true")])
            print("PROBE status", p.json["status"] ?? .null)
            let d = try await api.delete("/v1/customers/\(customer)")
            print("PROBE delete", d.status)
            let a = try await api.answerChallenge(of: p.json, outcome: "complete")
            print("PROBE answer", a.status)
            let id = p.json["id"]!.string!
            print("PROBE intent", try await api.retrieveIntent(id)["status"] ?? .null)
            print("PROBE owner", try await api.owner(of: card) ?? "nil")
        }
    }
    @Test func probeMisc() async throws {
        try await withWire { api in
            let c1 = try await api.createCustomer()
            let c2 = try await api.createCustomer()
            let c3 = try await api.createCustomer()
            let eb = try await api.get("/v1/customers", [("ending_before", c1), ("limit", "1")])
            print("PROBE ending_before", eb.json.ids, [c1, c2, c3], eb.json["has_more"] ?? .null)
            let pmUnknown = try await api.get("/v1/payment_methods", [("customer", "cus_missing"), ("type", "card")])
            print("PROBE pm list unknown", pmUnknown.status, pmUnknown.error["code"] ?? .null, pmUnknown.error["param"] ?? .null)
            let magic = try await api.attach("pm_card_visa", to: c1)
            print("PROBE magic attach", magic.status, magic.json["id"] ?? .null, try await api.get("/v1/customers/\(c1)/payment_methods").json.ids)
            // sfu on confirm
            let card = try await api.card("4242424242424242")
            let created = try await api.payment([("customer", c2), ("payment_method", card)])
            let id = created.json["id"]!.string!
            let conf = try await api.post("/v1/payment_intents/\(id)/confirm", [("setup_future_usage", "off_session")])
            print("PROBE sfu on confirm", conf.status, conf.json["status"] ?? .null, try await api.owner(of: card) ?? "nil")
            // capture after 7 days
            let auth = try await api.payment([("payment_method", "pm_card_visa"), ("capture_method", "manual"), ("confirm", "true")])
            api.environment.clock.advance(by: 7 * 24 * 3600)
            let cap = try await api.post("/v1/payment_intents/\(auth.json["id"]!.string!)/capture")
            print("PROBE capture after 7d", cap.status, cap.error["code"] ?? .null)
            // refund zero / capture zero
            let paid = try await api.payment([("payment_method", "pm_card_visa"), ("confirm", "true")])
            let r0 = try await api.post("/v1/refunds", [("payment_intent", paid.json["id"]!.string!), ("amount", "0")])
            print("PROBE refund 0", r0.status, r0.error["code"] ?? .null)
            let rboth = try await api.post("/v1/refunds", [])
            print("PROBE refund none", rboth.status, rboth.error["code"] ?? .null)
            let cr = try await api.post("/v1/customers", [("payment_method", card)])
            print("PROBE customer payment_method", cr.status, cr.error["code"] ?? .null)
            // refund pending card
            let pend = try await api.payment([("payment_method", "pm_card_pendingRefund"), ("confirm", "true")])
            let rp = try await api.post("/v1/refunds", [("payment_intent", pend.json["id"]!.string!)])
            print("PROBE pending refund", rp.status, rp.json["status"] ?? .null)
            // refund by charge of mismatched intent
            let paid2 = try await api.payment([("payment_method", "pm_card_visa"), ("confirm", "true")])
            let rm = try await api.post("/v1/refunds", [("payment_intent", paid2.json["id"]!.string!), ("charge", paid.json["latest_charge"]!.string!), ("amount", "100")])
            print("PROBE refund mismatched", rm.status, rm.json["charge"] ?? .null, rm.json["payment_intent"] ?? .null)
        }
    }
}
