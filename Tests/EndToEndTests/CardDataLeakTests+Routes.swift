import Foundation
import GRDB
import Testing

extension CardDataLeakTests {
    /// The ids of real objects the poisoned requests name.
    struct IDs {
        var customer: String
        var method: String
        /// An intent waiting for a payment method.
        var intent: String
        /// A succeeded intent.
        var paid: String
        var charge: String
        var refund: String
        var setup: String
        var event: String
        /// The path of an unanswered challenge page.
        var challengePath: String
    }

    /// Every route of the service, with its own parameters (the free-text ones first).
    static func routes(server: ServerProcess, ids: IDs) -> [PoisonRoute] {
        let secret = server.secret
        let publishable = server.publishable
        let card = [("type", "card"), ("card[exp_month]", "12"), ("card[exp_year]", "2031")]
        let address = ["address[line1]", "address[postal_code]", "address[city]"]
        return [
            // Customers
            .init(
                method: "POST",
                path: "/v1/customers",
                auth: secret,
                params: ["email", "name", "phone", "payment_method"] + address
            ),
            .init(method: "GET", path: "/v1/customers", auth: secret, params: ["email", "starting_after"]),
            .init(method: "GET", path: "/v1/customers/\(ids.customer)", auth: secret, params: ["expand[]"]),
            .init(
                method: "POST",
                path: "/v1/customers/\(ids.customer)",
                auth: secret,
                params: ["email", "name", "phone", "invoice_settings[default_payment_method]"]
            ),
            .init(method: "DELETE", path: "/v1/customers/\(ids.customer)", auth: secret, params: ["reason"]),
            .init(
                method: "GET",
                path: "/v1/customers/\(ids.customer)/payment_methods",
                auth: secret,
                params: ["type", "ending_before"]
            ),
            // Payment methods (the card number itself is the one parameter left out)
            .init(
                method: "POST",
                path: "/v1/payment_methods",
                auth: publishable,
                base: card + [("card[number]", "4242424242424242")],
                params: [
                    "billing_details[name]", "billing_details[email]", "billing_details[phone]",
                    "billing_details[address][line1]", "card[exp_month]",
                ],
                acceptsCVC: true
            ),
            .init(method: "GET", path: "/v1/payment_methods", auth: secret, params: ["customer", "type"]),
            .init(method: "GET", path: "/v1/payment_methods/\(ids.method)", auth: secret, params: ["expand[]"]),
            .init(
                method: "POST",
                path: "/v1/payment_methods/\(ids.method)",
                auth: secret,
                params: ["billing_details[name]", "card[exp_year]"]
            ),
            .init(
                method: "POST",
                path: "/v1/payment_methods/\(ids.method)/attach",
                auth: secret,
                params: ["customer"]
            ),
            .init(method: "POST", path: "/v1/payment_methods/\(ids.method)/detach", auth: secret),
            // Payment intents
            .init(
                method: "POST",
                path: "/v1/payment_intents",
                auth: secret,
                base: [("amount", "1500"), ("currency", "usd")],
                params: [
                    "receipt_email", "statement_descriptor", "statement_descriptor_suffix", "customer",
                    "payment_method", "return_url", "amount", "currency",
                ]
            ),
            .init(method: "GET", path: "/v1/payment_intents", auth: secret, params: ["customer", "created"]),
            .init(
                method: "GET",
                path: "/v1/payment_intents/\(ids.intent)",
                auth: secret,
                params: ["client_secret"]
            ),
            .init(
                method: "POST",
                path: "/v1/payment_intents/\(ids.intent)",
                auth: secret,
                params: ["receipt_email", "payment_method", "amount"]
            ),
            .init(
                method: "POST",
                path: "/v1/payment_intents/\(ids.intent)/confirm",
                auth: secret,
                params: ["payment_method", "return_url", "receipt_email", "client_secret"]
            ),
            .init(
                method: "POST",
                path: "/v1/payment_intents/\(ids.paid)/capture",
                auth: secret,
                params: ["amount_to_capture"]
            ),
            .init(
                method: "POST",
                path: "/v1/payment_intents/\(ids.intent)/cancel",
                auth: secret,
                params: ["cancellation_reason"]
            ),
            // Setup intents
            .init(
                method: "POST",
                path: "/v1/setup_intents",
                auth: secret,
                params: ["customer", "payment_method", "usage", "return_url"]
            ),
            .init(method: "GET", path: "/v1/setup_intents", auth: secret, params: ["customer", "payment_method"]),
            .init(method: "GET", path: "/v1/setup_intents/\(ids.setup)", auth: secret, params: ["client_secret"]),
            .init(
                method: "POST",
                path: "/v1/setup_intents/\(ids.setup)",
                auth: secret,
                params: ["customer", "payment_method"]
            ),
            .init(
                method: "POST",
                path: "/v1/setup_intents/\(ids.setup)/confirm",
                auth: secret,
                params: ["payment_method", "return_url"]
            ),
            .init(
                method: "POST",
                path: "/v1/setup_intents/\(ids.setup)/cancel",
                auth: secret,
                params: ["cancellation_reason"]
            ),
            // Refunds, charges, events
            .init(
                method: "POST",
                path: "/v1/refunds",
                auth: secret,
                base: [("payment_intent", ids.paid)],
                params: ["reason", "amount", "charge"]
            ),
            .init(method: "GET", path: "/v1/refunds", auth: secret, params: ["payment_intent", "charge"]),
            .init(method: "GET", path: "/v1/refunds/\(ids.refund)", auth: secret, params: ["expand[]"]),
            .init(method: "POST", path: "/v1/refunds/\(ids.refund)", auth: secret),
            .init(method: "GET", path: "/v1/charges", auth: secret, params: ["customer", "payment_intent"]),
            .init(method: "GET", path: "/v1/charges/\(ids.charge)", auth: secret, params: ["expand[]"]),
            .init(
                method: "GET",
                path: "/v1/charges/\(ids.charge)/refunds",
                auth: secret,
                params: ["starting_after"]
            ),
            .init(method: "GET", path: "/v1/events", auth: secret, params: ["type", "types[]"]),
            .init(method: "GET", path: "/v1/events/\(ids.event)", auth: secret),
            // The merchant's own endpoints and the challenge page
            .init(
                method: "POST",
                path: "/pay",
                auth: nil,
                base: [("payment_method_id", ids.method)],
                params: ["item", "payment_intent_id", "payment_intent_client_secret", "payment_method_id"],
                jsonBody: true
            ),
            .init(
                method: "POST",
                path: "/save-card",
                auth: nil,
                base: [("payment_method_id", ids.method)],
                params: ["payment_method_id"],
                jsonBody: true
            ),
            .init(
                method: "POST",
                path: ids.challengePath,
                auth: nil,
                base: [("outcome", "complete")],
                params: ["outcome"],
                refusesUnknownParameters: false
            ),
            .init(method: "GET", path: ids.challengePath, auth: nil, readsParameters: false),
            .init(method: "GET", path: "/health", auth: nil, readsParameters: false),
            .init(method: "GET", path: "/metrics", auth: nil, readsParameters: false),
            .init(method: "GET", path: "/checkout/config.json", auth: nil, readsParameters: false),
        ]
    }

    /// The bytes of every SQLite file in `folder` (the service's database and the network's ledger, with their
    /// `-wal` and `-shm` files), by name.
    static func files(in folder: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.contains(".sqlite") {
            files[name] = try Data(contentsOf: folder.appendingPathComponent(name))
        }
        #expect(files.keys.contains("payments.sqlite") && files.keys.contains("card-network.sqlite"), "\(files.keys)")
        return files
    }

    /// Every text value stored in every table of both databases, as a reader sees them (the WAL included).
    static func storedText(in folder: URL) throws -> [String] {
        let ledgers = Ledgers(folder: folder)
        var cells: [String] = []
        for file in ["payments.sqlite", "card-network.sqlite"] {
            cells += try ledgers.read(file) { db in
                var values: [String] = []
                let tables = try String.fetchAll(
                    db,
                    sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
                for table in tables {
                    for row in try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\"") {
                        for value in row.databaseValues {
                            if let text = String.fromDatabaseValue(value) { values.append(text) }
                        }
                    }
                }
                return values
            }
        }
        return cells
    }

    /// The server's log: JSON lines at trace level, one line per request at info with its fields and Request-Id, and
    /// a use case's line naming the request it ran for.
    static func checkLog(_ output: String, requestIDs: [String], requests: Int) throws {
        var lines: [[String: Any]] = []
        for line in output.split(separator: "\n") where line.hasPrefix("{") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            lines.append(try #require(object, "not a JSON object: \(line)"))
        }
        let requestLines = lines.filter { $0["message"] as? String == "request" }
        #expect(requestLines.count >= requests, "\(requestLines.count) request lines for \(requests) requests")
        let logged = Set(requestLines.compactMap { $0["request_id"] as? String })
        let missing = Set(requestIDs).subtracting(logged)
        #expect(missing.isEmpty, "requests answered but not logged: \(missing.prefix(5))")
        for line in requestLines {
            #expect(line["level"] as? String == "info")
            #expect(line["method"] is String && line["status"] is Int && line["duration_ms"] is Double, "\(line)")
            let path = line["path"] as? String ?? "?"
            #expect(!path.contains("?"), "a query string was logged: \(path)")
            #expect(line["timestamp"] as? String != nil && line["label"] as? String != nil)
        }
        // The challenge page's token, its only credential, is not logged either
        #expect(requestLines.contains { ($0["path"] as? String)?.hasSuffix("/REDACTED") == true })
        let levels = Set(lines.compactMap { $0["level"] as? String })
        #expect(levels.contains("trace") || levels.contains("debug"), "levels logged: \(levels)")
        // A use case's own line carries the id of the request it ran for
        let approvals = lines.filter { $0["message"] as? String == "card network approved the attempt" }
        #expect(!approvals.isEmpty)
        #expect(approvals.allSatisfy { logged.contains($0["request_id"] as? String ?? "-") }, "\(approvals)")
        // Numbers are numbers and lists lists (a probe found `"open_files_limit":"20000"`, a sweeper pass's
        // `"now":"1796435187"` and `"rules_skipped":""`)
        let limits = lines.filter { ($0["message"] as? String)?.hasPrefix("connections held at once") == true }
        #expect(!limits.isEmpty && limits.allSatisfy { $0["open_files_limit"] is Int }, "\(limits)")
        for pass in lines where pass["message"] as? String == "sweeper pass" {
            #expect(pass["now"] is Int && pass["rules_skipped"] is [Any] && pass["examined"] is Int, "\(pass)")
        }
    }
}
