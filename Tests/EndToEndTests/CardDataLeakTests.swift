import Foundation
import GRDB
import TestSupport
import Testing

/// Card numbers and CVCs never reach the logs, the database, the card network's ledger or their write-ahead logs:
/// the built binary, logging JSON at `trace`, is sent the test cards where they belong and everywhere they do not,
/// and then every byte it wrote is searched.
@Suite("Card data never reaches a log or a file")
struct CardDataLeakTests {
    /// What the test plants on purpose, to show that the searches find what is there.
    enum Planted {
        /// A description stored as sent.
        static let text = "planted-canary-Zq81x"
        /// A short number standing alone, like a CVC would: stored as a metadata value, and logged in a path.
        static let shortNumber = "913"
    }

    @Test("A trace log's start-up lines hold no migration's SQL, and so none of the test cards its comments name")
    func startupLinesWithoutSQL() async throws {
        // Given the card numbers the migrations' comments name, on both stores
        let sql = try [TestPaths.migrations, TestPaths.migrations + "/postgres"].flatMap { folder in
            try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".sql") }
                .map { try String(contentsOfFile: folder + "/" + $0, encoding: .utf8) }
        }
        let numbers = Set(sql.flatMap { $0.matches(of: /\b4[0-9]{15}\b/).map { String($0.output) } })
        try #require(!numbers.isEmpty, "the migrations name no card number any more: this test checks nothing")
        // When the server starts and stops with trace logs
        let server = try await ServerProcess.start(environment: ["PAYMENTS_LOG_LEVEL": "trace"])
        defer { server.kill() }
        #expect(await server.stop()?.isCleanExit == true, "\(server.diagnostics)")
        // Then its log names the migrations' sizes, never their SQL (swift-service-lifecycle's "Starting service"
        // lines printed the whole service graph, every migration's SQL in it)
        let log = server.output
        #expect(log.contains("Starting service"), "\(log.prefix(2000))")
        #expect(!log.contains("CREATE TABLE"), "\(log.prefix(2000))")
        for number in numbers { #expect(!log.contains(number), "\(number) in the log") }
    }

    @Test("The server runs with a core file size limit of 0, soft and hard: no core file holds its memory's cards")
    func noCoreFiles() async throws {
        // Given a server started from this test, which inherits the test runner's limits (a hard limit above 0)
        let server = try await ServerProcess.start()
        defer { server.kill() }
        // Then its core file size limit is 0, and it cannot raise it again
        let limits = try String(contentsOfFile: "/proc/\(server.processIdentifier)/limits", encoding: .utf8)
        let line = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }
        let values = line.map { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).prefix(2) }
        #expect(values.map(Array.init) == ["0", "0"], "\(line ?? "no core line in \(limits)")")
    }

    @Test("The test cards, sent in every parameter, header and path of every route, show in no log and no file")
    func cardDataNeverWritten() async throws {
        let server = try await ServerProcess.start(
            environment: ["PAYMENTS_LOG_FORMAT": "json", "PAYMENTS_LOG_LEVEL": "trace", "PAYMENTS_SWEEP_INTERVAL": "1"]
        )
        defer { server.kill() }
        let client = server.client
        var requestIDs: [String] = []
        func note(_ answer: HTTPAnswer) -> HTTPAnswer {
            if let id = answer.header("Request-Id") { requestIDs.append(id) }
            return answer
        }

        // Given the card data where it belongs: each card, in each form, made into a PaymentMethod with its CVC,
        // by the browser (publishable key, a form body) and by a server (secret key, a JSON body and a key)
        // (a payment method not attached to a customer is used once, so each use below takes its own)
        var methods: [String: [String]] = [:]
        for card in CardData.all {
            for (index, form) in card.sentForms.enumerated() {
                let fields = [
                    ("type", "card"), ("card[number]", form), ("card[cvc]", card.cvc), ("card[exp_month]", "12"),
                    ("card[exp_year]", "2031"), ("billing_details[name]", "Jenny Rosen"),
                ]
                let answer: HTTPAnswer
                if index == 1 {
                    let json: [String: Any] = [
                        "type": "card", "card": ["number": form, "cvc": card.cvc, "exp_month": 12, "exp_year": 2031],
                    ]
                    answer = try await client.raw(
                        "POST",
                        "/v1/payment_methods",
                        json: json,
                        headers: ["Idempotency-Key": "pm-json-\(card.number.suffix(4))"],
                        auth: server.secret
                    )
                } else {
                    answer = try await client.postForm("/v1/payment_methods", fields, auth: server.publishable)
                }
                try #require(note(answer).status == 200, "create payment method \(form): \(answer)")
                methods[card.number, default: []].append(try #require(try answer.json()["id"]?.string))
            }
        }
        let visas = try #require(methods["4242424242424242"])
        let secures = try #require(methods["4000002500003155"])
        let declining = try #require(methods["4000000000009995"]?.first)
        let amex = try #require(methods["378282246310005"]?.first)

        // And payments with them: succeeded (Visa, Amex), declined, 3-D Secure completed; a refund; /pay;
        // /save-card; a setup intent through its challenge
        let customer = try await created(
            client.postForm("/v1/customers", [("email", "jenny@example.com")], auth: server.secret),
            note
        )
        let paid = try await created(
            client.postForm(
                "/v1/payment_intents",
                [
                    ("amount", "1500"), ("currency", "usd"), ("payment_method", visas[0]), ("confirm", "true"),
                    ("customer", customer), ("setup_future_usage", "off_session"),
                ],
                auth: server.secret,
                headers: ["Idempotency-Key": "paid-visa"]
            ),
            note
        )
        let paidIntent = try await server.paymentIntent(paid)
        let charge = try #require(paidIntent["latest_charge"]?.string)
        _ = try await created(
            client.postForm(
                "/v1/payment_intents",
                [("amount", "2500"), ("currency", "usd"), ("payment_method", amex), ("confirm", "true")],
                auth: server.secret
            ),
            note
        )
        let declined = note(
            try await client.postForm(
                "/v1/payment_intents",
                [("amount", "1500"), ("currency", "usd"), ("payment_method", declining), ("confirm", "true")],
                auth: server.secret
            )
        )
        #expect(declined.status == 402, "\(declined)")
        let challenged = note(
            try await client.postForm(
                "/v1/payment_intents",
                [
                    ("amount", "1500"), ("currency", "usd"), ("payment_method", secures[0]), ("confirm", "true"),
                    ("confirmation_method", "manual"),
                ],
                auth: server.secret
            )
        )
        let challengedIntent = try challenged.json()
        let challengedID = try #require(challengedIntent["id"]?.string)
        let challengeURL = try server.challengeURL(of: challengedIntent)
        #expect(try await note(server.answerChallenge(at: challengeURL, outcome: "complete")).status == 200)
        let confirmed = note(
            try await client.postForm("/v1/payment_intents/\(challengedID)/confirm", auth: server.secret)
        )
        #expect(try confirmed.json()["status"]?.string == "succeeded", "\(confirmed)")
        let refund = try await created(
            client.postForm("/v1/refunds", [("payment_intent", paid), ("amount", "500")], auth: server.secret),
            note
        )
        #expect(note(try await client.postJSON("/pay", ["payment_method_id": visas[1]])).status == 200)
        #expect(note(try await client.postJSON("/save-card", ["payment_method_id": visas[2]])).status == 200)
        let setup = note(
            try await client.postForm(
                "/v1/setup_intents",
                [("payment_method", secures[1]), ("confirm", "true")],
                auth: server.secret
            )
        )
        let setupURL = try #require(try setup.json()["next_action"]?["redirect_to_url"]?["url"]?.string, "\(setup)")
        #expect(try await note(server.answerChallenge(at: setupURL, outcome: "complete")).status == 200)
        let setupID = try #require(try setup.json()["id"]?.string)
        // An intent left waiting for its challenge, for the poisoned challenge requests
        let waiting = note(
            try await client.postForm(
                "/v1/payment_intents",
                [("amount", "1500"), ("currency", "usd"), ("payment_method", secures[2]), ("confirm", "true")],
                auth: server.secret
            )
        )
        let waitingPath = try #require(URL(string: try server.challengeURL(of: try waiting.json()))?.path)
        let pending = try await created(
            client.postForm("/v1/payment_intents", [("amount", "1500"), ("currency", "usd")], auth: server.secret),
            note
        )
        let events = try note(await client.get("/v1/events", query: [("limit", "1")], auth: server.secret)).json()
        let event = try #require(events["data"]?[0]?["id"]?.string)

        // And what is planted on purpose, stored and logged as sent
        #expect(
            note(
                try await client.postForm(
                    "/v1/customers",
                    [("description", Planted.text), ("metadata[plant]", Planted.shortNumber)],
                    auth: server.secret
                )
            ).status == 200
        )
        #expect(note(try await client.get("/v1/events/\(Planted.shortNumber)", auth: server.secret)).status == 404)

        // When the card data is sent everywhere it does not belong
        let routes = Self.routes(
            server: server,
            ids: .init(
                customer: customer,
                method: visas[0],
                intent: pending,
                paid: paid,
                charge: charge,
                refund: refund,
                setup: setupID,
                event: event,
                challengePath: waitingPath
            )
        )
        let forms = CardData.all.flatMap(\.sentForms)
        var turn = 0
        func nextForm() -> String {
            defer { turn += 1 }
            return forms[turn % forms.count]
        }
        func nextCard() -> CardData { CardData.all[turn % CardData.all.count] }
        var poisoned = 0
        for route in routes {
            let label = "\(route.method) \(route.path)"
            // Each parameter alone, as a value; a metadata key; the CVC under its own names
            var attempts: [(String, String)] = (["description", "metadata[note]", "x_card_data"] + route.params).map {
                ($0, nextForm())
            }
            attempts.append(("metadata[\(nextForm())]", "x"))
            attempts.append(("card[cvc]", nextCard().cvc))
            attempts.append(("cvc", nextCard().cvc))
            for (param, value) in attempts {
                let answer = note(try await client.send(route, [(param, value)]))
                poisoned += 1
                let isCVC = param.hasSuffix("cvc") || param.hasSuffix("cvc]")
                // A CVC is refused as an unknown parameter, except where it belongs (creating a card) and where
                // unknown parameters are ignored (the challenge page's form)
                let cvcAccepted = isCVC && (route.acceptsCVC || !route.refusesUnknownParameters)
                if route.readsParameters, !cvcAccepted {
                    #expect((400..<500).contains(answer.status), "\(label) with \(param): \(answer)")
                    if route.isAPI {
                        #expect(try answer.json()["error"]?["type"]?.string != nil, "\(label): \(answer)")
                    }
                } else {
                    #expect(answer.status < 500, "\(label) with \(param): \(answer)")
                }
            }
            // The whole body as JSON where a form is expected, and the other way round
            if route.isPost {
                var flipped = route
                flipped.jsonBody.toggle()
                let answer = note(try await client.send(flipped, [("description", nextForm())]))
                poisoned += 1
                #expect(answer.status < 500 && answer.status != 200, "\(label) flipped body: \(answer)")
            }
            // Headers, the idempotency key among them
            var headers = ["Stripe-Version": nextForm(), "User-Agent": nextForm(), "X-Card-Number": nextForm()]
            if route.takesIdempotencyKey { headers["Idempotency-Key"] = nextForm() }
            let headed = note(try await client.send(route, [], headers: headers))
            poisoned += 1
            #expect(headed.status < 500, "\(label) with headers: \(headed)")
            if route.takesIdempotencyKey { #expect(headed.status == 400, "\(label) key: \(headed)") }
            if route.isAPI {
                let unauthorized = note(
                    try await client.raw(route.method, route.path, auth: .bearer("sk_test_" + nextForm()))
                )
                #expect(unauthorized.status == 401, "\(label) with a card as its key: \(unauthorized)")
                poisoned += 1
            }
            // The ids in the path
            for index in route.idSegments {
                let answer = note(
                    try await client.raw(route.method, route.path(replacing: index, with: nextForm()), auth: route.auth)
                )
                poisoned += 1
                #expect((400..<500).contains(answer.status) || !route.readsParameters, "\(label) path: \(answer)")
            }
        }

        // Then nothing was written with card data: while the server runs (the WAL holds the latest writes) ...
        let running = try Self.files(in: server.folder)
        let cells = try Self.storedText(in: server.folder)
        // ... and once it has stopped
        let termination = await server.stop()
        #expect(termination?.isCleanExit == true, "\(String(describing: termination))")
        let stopped = try Self.files(in: server.folder)
        let log = Data(server.output.utf8)

        let written = running.merging(stopped.map { ("\($0.key) (stopped)", $0.value) }, uniquingKeysWith: { $1 })
        for (name, bytes) in written {
            let leaks = CardData.leaks(of: CardData.all, in: bytes)
            #expect(leaks.isEmpty, "\(name) holds \(leaks)")
        }
        #expect(
            CardData.leaks(of: CardData.all, in: log).isEmpty,
            "the log holds \(CardData.leaks(of: CardData.all, in: log))"
        )
        for card in CardData.all {
            let holding = cells.filter { cell in
                cell.replacingOccurrences(of: " ", with: "").replacingOccurrences(of: "-", with: "").contains(
                    card.number
                )
                    || CardData.standsAlone(card.cvc, in: Data(cell.utf8))
            }
            #expect(holding.isEmpty, "stored values hold \(card.number) or its CVC: \(holding.prefix(5))")
        }

        // And the searches are not blind: they find what was planted, in the files and in the stored values ...
        let database = running.filter { $0.key.hasPrefix("payments.sqlite") }.values
        #expect(database.contains { !CardData.occurrences(of: Planted.text, in: $0).isEmpty })
        #expect(database.contains { CardData.standsAlone(Planted.shortNumber, in: $0) })
        #expect(cells.contains { CardData.standsAlone(Planted.shortNumber, in: Data($0.utf8)) })
        #expect(CardData.standsAlone(Planted.shortNumber, in: log))
        // ... the stored values include the cards' last four digits (so the cards were stored, safely) ...
        #expect(cells.contains("4242") && cells.contains("0005"))
        // ... and the log is JSON at trace level, with a line per request naming its Request-Id
        try Self.checkLog(server.output, requestIDs: requestIDs, requests: poisoned)
    }

    /// A created object's id, from a 200 answer.
    private func created(_ answer: HTTPAnswer, _ note: (HTTPAnswer) -> HTTPAnswer) throws -> String {
        try #require(note(answer).status == 200, "\(answer)")
        return try #require(try answer.json()["id"]?.string, "\(answer)")
    }
}
