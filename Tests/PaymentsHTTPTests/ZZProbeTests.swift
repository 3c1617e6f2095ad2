import Foundation
import HTTPTypes
import TestSupport
import Testing

@Suite("ZZ probes")
struct ZZProbeTests {
    @Test func probes() async throws {
        try await withWire { api in
            func show(_ label: String, _ r: WireResponse) { print("PROBE \(label): \(r.status) \(r.text.replacingOccurrences(of: "\n", with: " ").prefix(100000))") }
            show("confirm no pm", try await api.createIntent([("confirm", "true")]))
            print("PROBE count \(try await api.listCount("/v1/payment_intents"))")
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "k1"]
            let a = try await api.post("/v1/payment_intents", [("amount","2000"),("currency","usd"),("payment_method","pm_card_chargeDeclined"),("confirm","true")], headers: key)
            let b = try await api.post("/v1/payment_intents", [("amount","2000"),("currency","usd"),("payment_method","pm_card_chargeDeclined"),("confirm","true")])
            print("PROBE idem keys: \(a.error.keysSorted) vs \(b.error.keysSorted)")
            print("PROBE idem pi keys equal: \(a.error["payment_intent"]?.keysSorted == b.error["payment_intent"]?.keysSorted)")
            let c = try await api.post("/v1/payment_intents", [("amount","2000"),("currency","usd"),("payment_method","pm_card_chargeDeclined"),("confirm","true")], headers: key)
            print("PROBE replay: \(c.status) \(c.header("Idempotent-Replayed") ?? "-") same=\(c.text == a.text)")
            let pk = try await api.post("/v1/payment_methods", [("type","card"),("card[number]","4000000000009995"),("card[exp_month]","12"),("card[exp_year]","2030")], auth: WireClient.publishable)
            let pmid = pk.json["id"]?.string ?? ""
            let intent = try await api.intent([("payment_method", pmid), ("metadata[x]","secret-meta")])
            let id = intent["id"]?.string ?? ""
            let cs = intent["client_secret"]?.string ?? ""
            let d = try await api.post("/v1/payment_intents/\(id)/confirm", [("client_secret", cs)], auth: WireClient.publishable)
            show("pk decline", d)
        }
    }
}
extension WireJSON { var keysSorted: [String] { if case .object(let m) = self { return m.keys.sorted() }; return [] } }
