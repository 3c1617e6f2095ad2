import Foundation
import TestSupport
import Testing

/// `payments recharge` with the built binary, beside a running server on the same database: a CSV of mixed
/// cards and bad rows, a rerun that charges nothing again, and a run killed halfway then finished.
@Suite("payments recharge, end to end")
struct RechargeTests {
    /// Saves `card` for a new customer the way a checkout does: a payment with setup_future_usage=off_session.
    /// Cards that need 3-D Secure complete the challenge first.
    static func customerWithSavedCard(_ server: ServerProcess, card: String) async throws -> String {
        let customer = try await server.client.postForm(
            "/v1/customers",
            [("email", "r@example.com")],
            auth: server.secret
        )
        let id = try #require(try customer.json()["id"]?.string)
        let pm = try await server.createPaymentMethod(card: card)
        let intent = try await server.client.postForm(
            "/v1/payment_intents",
            [
                ("amount", "500"), ("currency", "usd"), ("customer", id), ("payment_method", pm),
                ("setup_future_usage", "off_session"), ("confirm", "true"),
            ],
            auth: server.secret
        )
        let json = try intent.json()
        if json["status"]?.string == "requires_action" {
            _ = try await server.answerChallenge(at: try server.challengeURL(of: json), outcome: "complete")
        }
        return id
    }

    /// A file of `rows` renewals of a new customer's saved card (`renewal-0`, `renewal-1`, ...) in the server's folder,
    /// and the card network's approvals so far, for the runs that are cut short and run again.
    static func renewals(_ server: ServerProcess, rows: Int) async throws -> (
        input: URL, ledgers: Ledgers, approvedBefore: Int
    ) {
        let customer = try await customerWithSavedCard(server, card: "4242424242424242")
        let input = server.folder.appendingPathComponent("renewals.csv")
        var text = "customer,amount,currency,reference\n"
        for row in 0..<rows { text += "\(customer),\(1000 + row),usd,renewal-\(row)\n" }
        try text.write(to: input, atomically: true, encoding: .utf8)
        let ledgers = Ledgers(folder: server.folder)
        return (input, ledgers, try ledgers.networkApprovedAttempts().count)
    }

    /// Saves `card` for a new customer without charging it: a confirmed SetupIntent, whose 3-D Secure challenge
    /// (when the card asks for one) the customer completes on the challenge page.
    static func customerWithSetUpCard(_ server: ServerProcess, card: String) async throws -> (String, String) {
        let customer = try await server.client.postForm("/v1/customers", [], auth: server.secret)
        let id = try #require(try customer.json()["id"]?.string)
        let pm = try await server.createPaymentMethod(card: card)
        let created = try await server.client.postForm(
            "/v1/setup_intents",
            [("customer", id), ("payment_method", pm), ("usage", "off_session"), ("confirm", "true")],
            auth: server.secret
        )
        let setup = try created.json()
        let setupID = try #require(setup["id"]?.string, "\(created)")
        #expect(setup["status"]?.string == "requires_action", "\(created)")
        let answer = try await server.answerChallenge(at: try server.challengeURL(of: setup), outcome: "complete")
        #expect(answer.status == 200, "\(answer)")
        let after = try await server.client.get("/v1/setup_intents/\(setupID)", auth: server.secret).json()
        #expect(after["status"]?.string == "succeeded", "\(after)")
        return (id, setupID)
    }

    /// A customer with `card` attached directly (no payment first).
    static func customerWithAttachedCard(_ server: ServerProcess, card: String) async throws -> String {
        let customer = try await server.client.postForm("/v1/customers", [], auth: server.secret)
        let id = try #require(try customer.json()["id"]?.string)
        let pm = try await server.createPaymentMethod(card: card)
        let attached = try await server.client.postForm(
            "/v1/payment_methods/\(pm)/attach",
            [("customer", id)],
            auth: server.secret
        )
        try #require(attached.status == 200, "\(attached)")
        return id
    }

    static func recharge(_ server: ServerProcess, input: URL, output: URL, extra: [String] = [])
        async throws -> (termination: Termination, output: String)
    {
        try await runToCompletion(
            try PaymentsBinary.path(),
            ["recharge"] + server.databaseArguments + ["--input", input.path, "--output", output.path] + extra,
            environment: server.commandEnvironment(),
            in: server.folder
        )
    }

    static func readCSV(_ url: URL) throws -> [[String: String]] {
        let lines = try String(contentsOf: url, encoding: .utf8).split(whereSeparator: \.isNewline).map(String.init)
        let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map(String.init) ?? []
        return lines.dropFirst().map { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return Dictionary(uniqueKeysWithValues: zip(header, fields + Array(repeating: "", count: 8)))
        }
    }

    @Test(
        "a null character in a CSV field is that row's error, on either store: it never merges two references",
        arguments: TestStore.allCases
    )
    func nullCharacters(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            // Given a customer with a card, and a file whose fields hold null characters: on SQLite `nulref<NUL>A`
            // was stored as `nulref`, so the next row's own reference `nulref` replayed it, uncharged
            let customer = try await Self.customerWithSavedCard(server, card: "4242424242424242")
            let ledgers = Ledgers(folder: server.folder)
            let approvedBefore = try ledgers.networkApprovedAttempts().count
            let input = server.folder.appendingPathComponent("nul.csv")
            let output = server.folder.appendingPathComponent("nul-results.csv")
            try [
                "customer,amount,currency,reference,payment_method,description",
                "\(customer),1000,usd,nulref\u{0}A,,",
                "\(customer),1000,usd,nulref,,",
                "\(customer)\u{0}junk,1000,usd,nulcus,,",
                "\(customer),1000,usd,nuldesc,,desc\u{0}hidden",
                "",
            ].joined(separator: "\n").write(to: input, atomically: true, encoding: .utf8)

            // When the job runs, one row at a time
            let run = try await Self.recharge(server, input: input, output: output, extra: ["--concurrency", "1"])

            // Then each row with a null character is its own error, naming the column, and the plain reference is
            // charged on its own
            #expect(run.termination.status == 1, "\(run.termination)\n\(run.output)")
            let rows = try Self.readCSV(output)
            #expect(rows.map { $0["status"] ?? "" } == ["error", "succeeded", "error", "error"], "\(rows)")
            #expect(rows[0]["error"] == "reference holds a null character.", "\(rows)")
            #expect(rows[2]["error"] == "customer holds a null character.", "\(rows)")
            #expect(rows[3]["error"] == "description holds a null character.", "\(rows)")
            #expect(rows[1]["payment_intent"]?.hasPrefix("pi_") == true)
            #expect(try ledgers.networkApprovedAttempts().count == approvedBefore + 1)
        }
    }

    @Test(
        "a CSV of mixed cards and bad rows: each row's outcome, then a rerun creates nothing",
        arguments: TestStore.allCases
    )
    func mixedFile(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            // Given customers with saved cards of every kind, and the server running on the same database
            let visa = try await Self.customerWithSavedCard(server, card: "4242424242424242")
            let setUp3155 = try await Self.customerWithSavedCard(server, card: "4000002500003155")
            let always3184 = try await Self.customerWithAttachedCard(server, card: "4000002760003184")
            let fails0341 = try await Self.customerWithAttachedCard(server, card: "4000000000000341")
            let noCard = try #require(
                try await server.client.postForm("/v1/customers", [], auth: server.secret).json()["id"]?.string
            )
            let input = server.folder.appendingPathComponent("charges.csv")
            let output = server.folder.appendingPathComponent("results.csv")
            try """
            customer,amount,currency,reference,description
            \(visa),1200,usd,ref-visa,"Renewal, monthly"
            \(setUp3155),1300,usd,ref-3155,
            \(always3184),1400,usd,ref-3184,
            \(fails0341),1500,usd,ref-0341,
            \(noCard),1600,usd,ref-nocard,
            cus_doesnotexist,1700,usd,ref-unknown,
            \(visa),12x,usd,ref-badamount,
            \(visa),1800,xyz,ref-badcurrency,
            \(visa),10,usd,ref-toosmall,
            \(visa),1900,usd,,
            """.write(to: input, atomically: true, encoding: .utf8)
            let intentsBefore = try await Ledgers(folder: server.folder).intentCount()

            // When the job runs, writing its metrics for a textfile collector
            let metrics = server.folder.appendingPathComponent("recharge.prom")
            let first = try await Self.recharge(
                server,
                input: input,
                output: output,
                extra: ["--metrics-file", metrics.path]
            )

            // Then every row has its own outcome, in input order, and bad rows did not stop the others
            #expect(first.termination.status == 1, "\(first.termination)\n\(first.output)")
            let rows = try Self.readCSV(output)
            #expect(
                rows.map { $0["reference"] ?? "" } == [
                    "ref-visa", "ref-3155", "ref-3184", "ref-0341", "ref-nocard", "ref-unknown", "ref-badamount",
                    "ref-badcurrency", "ref-toosmall", "",
                ]
            )
            #expect(
                rows.map { $0["status"] ?? "" } == [
                    "succeeded", "succeeded", "declined", "declined", "error", "error", "error", "error", "error",
                    "error",
                ]
            )
            #expect(rows[2]["decline_code"] == "authentication_required")
            #expect(rows[3]["decline_code"] == "generic_decline")
            #expect(rows[0]["payment_intent"]?.hasPrefix("pi_") == true)
            #expect(first.output.contains("2 succeeded, 2 declined, 6 errors"), "\(first.output)")
            // and the metrics file counts the same rows, and the attempts behind them
            let exposition = try String(contentsOf: metrics, encoding: .utf8)
            #expect(exposition.contains(#"payments_recharge_rows_total{outcome="succeeded"} 2"#), "\(exposition)")
            #expect(exposition.contains(#"payments_recharge_rows_total{outcome="declined"} 2"#), "\(exposition)")
            #expect(exposition.contains(#"payments_recharge_rows_total{outcome="error"} 6"#), "\(exposition)")
            #expect(exposition.contains(#"payments_attempts_total{outcome="approved",decline_code=""} 2"#))
            let ledgers = Ledgers(folder: server.folder)
            #expect(try await ledgers.intentCount() == intentsBefore + 4)
            let approved = try ledgers.networkApprovedAttempts().count

            // And running the same file again charges nothing and answers the same intents
            let again = try await Self.recharge(
                server,
                input: input,
                output: output,
                extra: ["--metrics-file", metrics.path]
            )
            #expect(again.termination.status == 1)
            let rerunMetrics = try String(contentsOf: metrics, encoding: .utf8)
            #expect(rerunMetrics.contains(#"payments_recharge_rows_total{outcome="replayed"} 4"#), "\(rerunMetrics)")
            // with every outcome's series, and when the run ended: two runs of the same counts were otherwise one to a
            // collector, and a run that never came left nothing to alert on
            #expect(rerunMetrics.contains(#"payments_recharge_rows_total{outcome="succeeded"} 0"#), "\(rerunMetrics)")
            let stamp = rerunMetrics.split(separator: "\n").first {
                $0.hasPrefix("payments_recharge_last_run_timestamp_seconds ")
            }
            let seconds = stamp.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
            #expect(abs(seconds - Date().timeIntervalSince1970) < 600, "\(rerunMetrics)")
            #expect(rerunMetrics.contains("payments_recharge_last_run_duration_seconds "), "\(rerunMetrics)")
            #expect(!rerunMetrics.contains(#"payments_attempts_total{outcome="approved""#), "\(rerunMetrics)")
            let rerun = try Self.readCSV(output)
            #expect(rerun.map { $0["payment_intent"] ?? "" } == rows.map { $0["payment_intent"] ?? "" })
            #expect(try await ledgers.intentCount() == intentsBefore + 4)
            #expect(try ledgers.networkApprovedAttempts().count == approved)
            #expect(again.output.contains("replayed"), "\(again.output)")

            // An unreadable input is exit status 2.
            let missing = try await Self.recharge(
                server,
                input: server.folder.appendingPathComponent("missing.csv"),
                output: output
            )
            #expect(missing.termination.status == 2)
            // So is a file in another encoding than UTF-8 (a spreadsheet's Latin-1 export), which says so
            let latin1 = server.folder.appendingPathComponent("latin-1.csv")
            // "Café", its é one Latin-1 byte
            try (Data("customer,amount,currency,reference,description\ncus_x,100,usd,r-latin,Caf".utf8) + [0xE9, 0x0A])
                .write(to: latin1)
            let encoded = try await Self.recharge(server, input: latin1, output: output)
            #expect(encoded.termination.status == 2)
            #expect(encoded.output.contains("is not UTF-8 text"), "\(encoded.output)")
        }
    }

    @Test(
        "cards saved by a SetupIntent: 3155 is recharged off-session without 3-D Secure; 3184 needs it again",
        arguments: TestStore.allCases
    )
    func setUpCards(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            // Given two customers who saved a card through a SetupIntent, completing its challenge, and paid nothing
            let (setUp3155, _) = try await Self.customerWithSetUpCard(server, card: "4000002500003155")
            let (setUp3184, _) = try await Self.customerWithSetUpCard(server, card: "4000002760003184")
            let ledgers = Ledgers(folder: server.folder)
            #expect(try await ledgers.intentCount() == 0)
            #expect(try ledgers.networkApprovedAttempts().isEmpty)
            let input = server.folder.appendingPathComponent("setup-charges.csv")
            let output = server.folder.appendingPathComponent("setup-results.csv")
            try """
            customer,amount,currency,reference
            \(setUp3155),2100,usd,ref-setup-3155
            \(setUp3184),2200,usd,ref-setup-3184
            """.write(to: input, atomically: true, encoding: .utf8)

            // When the job charges each customer's saved card (their only one) off-session
            let run = try await Self.recharge(server, input: input, output: output)

            // Then the 3155 card set up at setup goes through without authentication; 3184 asks for it every time
            #expect(run.termination.status == 0, "\(run.output)")
            let rows = try Self.readCSV(output)
            #expect(rows.map { $0["status"] ?? "" } == ["succeeded", "declined"], "\(rows)")
            #expect(rows[1]["decline_code"] == "authentication_required")
            let charged = try #require(rows[0]["payment_intent"])
            let intent = try await server.paymentIntent(charged)
            #expect(intent["status"]?.string == "succeeded")
            #expect(intent["amount_received"]?.int == 2100)
            #expect(intent["next_action"]?.isNull == true)
            #expect(try ledgers.networkApprovedAttempts().count == 1)
        }
    }

    @Test("a run killed with SIGKILL halfway, run again, charges each row exactly once", arguments: TestStore.allCases)
    func killedHalfway(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            // 400 rows through a 200 ms network at the default concurrency of 32 take about 2.5 s: the watcher below
            // (polling every 20 ms from a thread of its own) kills the run well inside it, however loaded the machine is.
            let rows = 400
            let (input, ledgers, approvedBefore) = try await Self.renewals(server, rows: rows)
            let output = server.folder.appendingPathComponent("renewals-out.csv")

            // Given a run slowed by a 200 ms network, killed part way through
            let (termination, _, charged) = try await ledgers.recharge(
                killedPartWay: ["recharge"] + server.databaseArguments + [
                    "--input", input.path, "--output", output.path,
                ],
                environment: server.commandEnvironment(["PAYMENTS_NETWORK_LATENCY": "200"]),
                rows: rows,
                approvedBefore: approvedBefore
            )
            #expect(termination == .uncaughtSignal)
            #expect(charged > 0 && charged < rows, "killed too late or too early: \(charged) of \(rows) charged")

            // When it runs again to the end
            let rerun = try await Self.recharge(server, input: input, output: output)
            #expect(rerun.termination.status == 0, "\(rerun.output)")

            // Then every row was charged exactly once at the card network
            #expect(try ledgers.networkApprovedAttempts().count - approvedBefore == rows)
            let results = try Self.readCSV(output)
            #expect(results.count == rows)
            #expect(results.allSatisfy { $0["status"] == "succeeded" })
            #expect(Set(results.map { $0["payment_intent"] ?? "" }).count == rows)
            #expect(try await ledgers.intentsChargedTwice().isEmpty)
            #expect(try await ledgers.pendingCharges() == 0)
        }
    }

    @Test(
        "a run stopped by SIGTERM, SIGINT, SIGHUP or SIGTSTP finishes its rows in flight, writes every result",
        arguments: [SIGTERM, SIGINT, SIGHUP, SIGTSTP]
    )
    func stoppedBySignal(_ signal: Int32) async throws {
        try await withServer { server in
            let rows = 400
            let (input, ledgers, approvedBefore) = try await Self.renewals(server, rows: rows)
            let output = server.folder.appendingPathComponent("renewals-out.csv")

            // Given a run slowed by a 200 ms network, stopped part way through by the signal
            let process = try await ledgers.recharge(
                killedPartWay: ["recharge"] + server.databaseArguments + [
                    "--input", input.path, "--output", output.path,
                ],
                environment: server.commandEnvironment(["PAYMENTS_NETWORK_LATENCY": "200"]),
                rows: rows,
                approvedBefore: approvedBefore,
                signal: signal
            )

            // Then it exited with the signal's status (before: killed at once, with no results and leases held)
            #expect(process.termination == .exit, "\(process)")
            #expect(process.status == 128 + signal, "\(process)")
            #expect(process.charged > 0 && process.charged < rows, "stopped too late or too early: \(process)")
            // And every row has its result: those charged (the rows in flight finished, none left pending), and the
            // rest not charged, saying so
            let results = try Self.readCSV(output)
            #expect(results.count == rows)
            let succeeded = results.filter { $0["status"] == "succeeded" }
            #expect(succeeded.count == process.charged)
            let notStarted = results.filter { $0["error"]?.hasPrefix("not charged: the run was stopped") == true }
            #expect(notStarted.count == rows - process.charged)
            #expect(try await ledgers.pendingCharges() == 0)
            // And no reference is still held: the next run does not wait for a lease to run out
            let held = try await ledgers.query("SELECT count(*) FROM idempotency_keys WHERE locked_by IS NOT NULL")
            #expect(held == [["0"]])

            // When it runs again, it charges the rest, each row exactly once
            let rerun = try await Self.recharge(server, input: input, output: output)
            #expect(rerun.termination.status == 0, "\(rerun.output)")
            #expect(try ledgers.networkApprovedAttempts().count - approvedBefore == rows)
            #expect(try Self.readCSV(output).allSatisfy { $0["status"] == "succeeded" })
            #expect(try await ledgers.intentsChargedTwice().isEmpty)
        }
    }

    @Test(
        "a second stop signal ends a run at once, as its message says; a second SIGTSTP ends it too",
        arguments: [
            SIGTERM, SIGINT, SIGTSTP,
        ]
    )
    func stoppedTwice(_ signal: Int32) async throws {
        try await withServer { server in
            let rows = 40
            let (input, ledgers, approvedBefore) = try await Self.renewals(server, rows: rows)
            let output = server.folder.appendingPathComponent("renewals-out.csv")
            // Given a run whose rows each wait 3 s for the card network, stopped by the signal, then by it again
            let started = ContinuousClock.now
            let process = try await ledgers.recharge(
                killedPartWay: ["recharge"] + server.databaseArguments + [
                    "--input", input.path, "--output", output.path,
                ],
                environment: server.commandEnvironment([
                    "PAYMENTS_NETWORK_LATENCY": "3000", "PAYMENTS_NETWORK_TIMEOUT": "30",
                ]),
                rows: rows,
                approvedBefore: approvedBefore,
                signal: signal,
                twice: true
            )
            // Then the second ended it by the signal (SIGTERM for a second SIGTSTP, not a pause holding the write
            // lock), without waiting for the rows in flight: it was raised on a thread where signals are blocked,
            // and the run waited for its rows and exited as after one signal
            #expect(process.termination == .uncaughtSignal, "\(process)")
            #expect(process.status == (signal == SIGTSTP ? SIGTERM : signal), "\(process)")
            #expect(ContinuousClock.now - started < .seconds(60))
            // And the rows it left are settled once, by the run of the same file again
            let rerun = try await Self.recharge(server, input: input, output: output)
            #expect(rerun.termination.status == 0, "\(rerun.output)")
            #expect(try ledgers.networkApprovedAttempts().count - approvedBefore == rows)
            #expect(try await ledgers.intentsChargedTwice().isEmpty)
        }
    }

    @Test("a file that is not CSV is refused whole, naming its line, before any row is charged")
    func notCSV() async throws {
        try await withServer { server in
            let customer = try await Self.customerWithSavedCard(server, card: "4242424242424242")
            let ledgers = Ledgers(folder: server.folder)
            let intentsBefore = try await ledgers.intentCount()
            let approvedBefore = try ledgers.networkApprovedAttempts()
            let files = [
                // A quote never closed on line 2 swallowed lines 3 and 4 into its reference, and the run exited 0
                (
                    "unclosed.csv",
                    """
                    customer,amount,currency,reference
                    \(customer),2101,usd,"uq-1
                    \(customer),2102,usd,uq-2
                    \(customer),2103,usd,uq-3

                    """,
                    "line 2: a quoted field is never closed; nothing was charged"
                ),
                // "aq"-2 was read as aq-2; the description on lines 2 and 3 counts as two lines
                (
                    "after-quote.csv",
                    """
                    customer,amount,currency,reference,description
                    \(customer),2201,usd,aq-1,"Renewal,
                    monthly"
                    \(customer),2202,usd,"aq"-2,
                    \(customer),2203,usd,aq-3,

                    """,
                    "line 4: a quoted field has text after its closing quote"
                ),
            ]
            for (name, text, message) in files {
                let input = server.folder.appendingPathComponent(name)
                let output = server.folder.appendingPathComponent("results-" + name)
                try text.write(to: input, atomically: true, encoding: .utf8)

                let run = try await Self.recharge(server, input: input, output: output)

                #expect(run.termination.status == 2, "\(name): \(run.termination)\n\(run.output)")
                #expect(run.output.contains("payments recharge: \(input.path): \(message)"), "\(run.output)")
                #expect(!FileManager.default.fileExists(atPath: output.path), "\(name)")
            }
            // Then no row of either file was charged
            #expect(try await ledgers.intentCount() == intentsBefore)
            #expect(try ledgers.networkApprovedAttempts() == approvedBefore)
        }
    }

    @Test(
        "lines of only spaces or empty cells (a spreadsheet's ,,, rows) are skipped: a file with nothing wrong exits 0"
    )
    func blankLines() async throws {
        try await withServer { server in
            let customer = try await Self.customerWithSavedCard(server, card: "4242424242424242")
            let ledgers = Ledgers(folder: server.folder)
            let intentsBefore = try await ledgers.intentCount()
            let input = server.folder.appendingPathComponent("blank-lines.csv")
            let output = server.folder.appendingPathComponent("blank-lines-results.csv")
            // Given two rows among blank lines, as a spreadsheet exports them (CRLF, ,,, for an empty row)
            let lines = [
                "customer,amount,currency,reference", "\(customer),2301,usd,bl-1", "   ", ",,,",
                "\(customer),2302,usd,bl-2", " , ,\t, ", "\t", ",,,", "",
            ]
            try lines.joined(separator: "\r\n").write(to: input, atomically: true, encoding: .utf8)

            let run = try await Self.recharge(server, input: input, output: output)

            // Then the two rows were charged, and the blank lines are no rows at all
            #expect(run.termination.status == 0, "\(run.termination)\n\(run.output)")
            let rows = try Self.readCSV(output)
            #expect(rows.map { $0["reference"] ?? "" } == ["bl-1", "bl-2"], "\(rows)")
            #expect(rows.map { $0["status"] ?? "" } == ["succeeded", "succeeded"], "\(rows)")
            #expect(run.output.contains("2 succeeded, 0 declined, 0 errors"), "\(run.output)")
            #expect(try await ledgers.intentCount() == intentsBefore + 2)
        }
    }

    @Test("an --output that cannot be written (its folder missing, or a folder) is refused before any row is charged")
    func unwritableOutput() async throws {
        try await withServer { server in
            let customer = try await Self.customerWithSavedCard(server, card: "4242424242424242")
            let ledgers = Ledgers(folder: server.folder)
            let intentsBefore = try await ledgers.intentCount()
            let approvedBefore = try ledgers.networkApprovedAttempts()
            let input = server.folder.appendingPathComponent("unwritable.csv")
            try """
            customer,amount,currency,reference
            \(customer),2401,usd,uw-1
            \(customer),2402,usd,uw-2

            """.write(to: input, atomically: true, encoding: .utf8)
            let outputs = [
                ("/nonexistent/dir/out.csv", "the folder /nonexistent/dir does not exist"),
                (server.folder.path, "it is a folder"),
            ]
            for (output, reason) in outputs {
                let run = try await Self.recharge(server, input: input, output: URL(fileURLWithPath: output))

                #expect(run.termination.status == 2, "\(output): \(run.termination)\n\(run.output)")
                #expect(
                    run.output.contains(
                        "payments recharge: cannot write the results to \(output): \(reason); nothing was charged"
                    ),
                    "\(run.output)"
                )
            }
            // A --metrics-file that cannot be written is refused the same way, before any charge
            let metrics = try await Self.recharge(
                server,
                input: input,
                output: server.folder.appendingPathComponent("out.csv"),
                extra: ["--metrics-file", "/nonexistent/dir/recharge.prom"]
            )
            #expect(metrics.termination.status == 2, "\(metrics.termination)\n\(metrics.output)")
            #expect(
                metrics.output.contains(
                    "payments recharge: cannot write the metrics to /nonexistent/dir/recharge.prom: the folder "
                        + "/nonexistent/dir does not exist; nothing was charged"
                ),
                "\(metrics.output)"
            )
            #expect(try await ledgers.intentCount() == intentsBefore)
            #expect(try ledgers.networkApprovedAttempts() == approvedBefore)
        }
    }

    @Test(
        "an --output or --metrics-file that is the input, each other, a pipe or a device is refused before any charge"
    )
    func outputsThatAreNotNewFiles() async throws {
        try await withServer { server in
            let customer = try await Self.customerWithSavedCard(server, card: "4242424242424242")
            let ledgers = Ledgers(folder: server.folder)
            let intentsBefore = try await ledgers.intentCount()
            let approvedBefore = try ledgers.networkApprovedAttempts()
            let folder = server.folder
            let input = folder.appendingPathComponent("renewals.csv")
            let rows = """
                customer,amount,currency,reference
                \(customer),2501,usd,same-1

                """
            try rows.write(to: input, atomically: true, encoding: .utf8)
            let pipe = folder.appendingPathComponent("results.fifo")
            #expect(mkfifo(pipe.path, 0o600) == 0)
            let device = folder.appendingPathComponent("null-device")
            // A character device of the same kind as /dev/null (1, 3), of the test's own
            #expect(mknod(device.path, S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0)
            let alias = folder.appendingPathComponent("alias.csv")
            try FileManager.default.createSymbolicLink(at: alias, withDestinationURL: input)
            let results = folder.appendingPathComponent("results.csv").path
            let refusals: [(output: String, extra: [String], message: String)] = [
                (input.path, [], "cannot write to \(input.path): it is the input file \(input.path)"),
                // Another name for the input: the results replaced the list of the rows still to charge
                (alias.path, [], "cannot write to \(alias.path): it is the input file \(input.path)"),
                (results, ["--metrics-file", input.path], "cannot write to \(input.path): it is the input file"),
                (
                    results, ["--metrics-file", results],
                    "cannot write the metrics to \(results): the results go to that file"
                ),
                (pipe.path, [], "cannot write the results to \(pipe.path): it is not a regular file"),
                (device.path, [], "cannot write the results to \(device.path): it is not a regular file"),
                (results, ["--metrics-file", device.path], "cannot write the metrics to \(device.path): it is not"),
            ]
            for refusal in refusals {
                let run = try await Self.recharge(
                    server,
                    input: input,
                    output: URL(fileURLWithPath: refusal.output),
                    extra: refusal.extra
                )
                #expect(run.termination.status == 2, "\(refusal.output) \(refusal.extra): \(run.termination)")
                #expect(run.output.contains(refusal.message), "\(refusal.message)\n\(run.output)")
                #expect(run.output.contains("nothing was charged"), "\(run.output)")
            }
            // Then nothing was charged, the input is as it was, and the pipe and the device are still themselves
            #expect(try await ledgers.intentCount() == intentsBefore)
            #expect(try ledgers.networkApprovedAttempts() == approvedBefore)
            #expect(try String(contentsOf: input, encoding: .utf8) == rows)
            var status = stat()
            #expect(stat(pipe.path, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
            #expect(stat(device.path, &status) == 0 && status.st_mode & S_IFMT == S_IFCHR)
            unlink(device.path)
        }
    }

    @Test("the results and the metrics replace the file a link leads to, and keep that file's mode")
    func outputsThroughLinksKeepTheirMode() async throws {
        try await withServer { server in
            let customer = try await Self.customerWithSavedCard(server, card: "4242424242424242")
            let folder = server.folder
            let input = folder.appendingPathComponent("renewals.csv")
            try "customer,amount,currency,reference\n\(customer),2601,usd,link-1\n".write(
                to: input,
                atomically: true,
                encoding: .utf8
            )
            // Given results and metrics files kept private (0600), reached through links
            var links: [URL] = []
            for name in ["results.csv", "recharge.prom"] {
                let file = folder.appendingPathComponent("kept-" + name)
                try "old\n".write(to: file, atomically: true, encoding: .utf8)
                #expect(chmod(file.path, 0o600) == 0)
                let link = folder.appendingPathComponent(name)
                try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "kept-" + name)
                links.append(link)
            }

            let run = try await Self.recharge(
                server,
                input: input,
                output: links[0],
                extra: ["--metrics-file", links[1].path]
            )

            // Then the links still lead to the files, which hold the run's results and metrics, still 0600
            #expect(run.termination.isCleanExit, "\(run.output)")
            for (link, expected) in zip(links, ["link-1,pi_", "payments_recharge_rows_total"]) {
                #expect(
                    (try? FileManager.default.destinationOfSymbolicLink(atPath: link.path)) == "kept-"
                        + link.lastPathComponent,
                    "\(link.lastPathComponent) is no longer a link"
                )
                let kept = folder.appendingPathComponent("kept-" + link.lastPathComponent)
                #expect(try String(contentsOf: kept, encoding: .utf8).contains(expected), "\(kept.path)")
                var status = stat()
                #expect(stat(kept.path, &status) == 0)
                #expect(
                    status.st_mode & 0o777 == 0o600,
                    "\(kept.lastPathComponent): mode \(String(status.st_mode & 0o777, radix: 8))"
                )
            }
        }
    }

    @Test("a run whose database cannot be reached exits 2, saying nothing was charged")
    func unreachableDatabase() async throws {
        try await withServer { server in
            let input = server.folder.appendingPathComponent("renewals.csv")
            try "customer,amount,currency,reference\ncus_x,2701,usd,db-1\n".write(
                to: input,
                atomically: true,
                encoding: .utf8
            )
            let port = try ServerProcess.freePort()
            let run = try await runToCompletion(
                try PaymentsBinary.path(),
                [
                    "recharge", "--database-url",
                    "postgres://payments:secret@127.0.0.1:\(port)/payments?sslmode=disable",
                    "--input", input.path,
                ],
                environment: server.commandEnvironment(),
                in: server.folder
            )
            #expect(run.termination.status == 2, "\(run.termination)\n\(run.output)")
            #expect(run.output.contains("Nothing was charged."), "\(run.output)")
        }
    }

    @Test("an --output naming the database, its -wal, or another SQLite file is refused before any row is charged")
    func outputOverDatabase() async throws {
        try await withServer { server in
            let customer = try await Self.customerWithSavedCard(server, card: "4242424242424242")
            let ledgers = Ledgers(folder: server.folder)
            let intentsBefore = try await ledgers.intentCount()
            let approvedBefore = try ledgers.networkApprovedAttempts()
            let input = server.folder.appendingPathComponent("over-db.csv")
            try "customer,amount,currency,reference\n\(customer),2501,usd,odb-1\n".write(
                to: input,
                atomically: true,
                encoding: .utf8
            )
            let ledger = server.folder.appendingPathComponent("card-network.sqlite")
            for output in [server.db.path, server.db.path + "-wal", ledger.path, ledger.path + "-wal"] {
                let run = try await Self.recharge(server, input: input, output: URL(fileURLWithPath: output))
                #expect(run.termination.status == 2, "\(output): \(run.termination)\n\(run.output)")
                #expect(run.output.contains("Refusing to write the results to \(output)"), "\(run.output)")
                #expect(run.output.contains("Nothing was charged."), "\(run.output)")
            }
            // A --db that is a link: the database's -wal is beside the file it leads to, and is refused by that name
            let link = server.folder.appendingPathComponent("link.sqlite")
            try FileManager.default.createSymbolicLink(at: link, withDestinationURL: server.db)
            let throughLink = try await runToCompletion(
                try PaymentsBinary.path(),
                ["recharge", "--db", link.path, "--input", input.path, "--output", server.db.path + "-wal"],
                environment: server.commandEnvironment(),
                in: server.folder
            )
            #expect(throughLink.termination.status == 2, "\(throughLink.termination)\n\(throughLink.output)")
            #expect(throughLink.output.contains("-wal file"), "\(throughLink.output)")
            // And a --metrics-file naming the database is refused as the metrics (it said "the results") (probe)
            let metricsOverDatabase = try await Self.recharge(
                server,
                input: input,
                output: server.folder.appendingPathComponent("odb-results.csv"),
                extra: ["--metrics-file", server.db.path]
            )
            #expect(metricsOverDatabase.termination.status == 2, "\(metricsOverDatabase.output)")
            #expect(
                metricsOverDatabase.output.contains("Refusing to write the metrics to \(server.db.path)"),
                "\(metricsOverDatabase.output)"
            )
            // The database is whole and serves; nothing was charged
            #expect(try await ledgers.intentCount() == intentsBefore)
            #expect(try ledgers.networkApprovedAttempts() == approvedBefore)
            let health = try await server.client.get("/v1/customers/\(customer)", auth: server.secret)
            #expect(health.status == 200, "\(health)")
        }
    }

    @Test("results that cannot be written at the end go to standard output, saying the charges were made")
    func outputLostDuringRun() async throws {
        try await withServer { server in
            let customer = try await Self.customerWithSavedCard(server, card: "4242424242424242")
            let ledgers = Ledgers(folder: server.folder)
            let approvedBefore = try ledgers.networkApprovedAttempts().count
            let rows = 20
            let input = server.folder.appendingPathComponent("lost.csv")
            var text = "customer,amount,currency,reference\n"
            for row in 0..<rows { text += "\(customer),\(2500 + row),usd,lost-\(row)\n" }
            try text.write(to: input, atomically: true, encoding: .utf8)
            let folder = server.folder.appendingPathComponent("results")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let output = folder.appendingPathComponent("lost-results.csv")

            // Given a run of one row at a time through a 200 ms network (4 s in all), whose output folder is
            // removed once its first row was charged
            let binary = try PaymentsBinary.path()
            async let run = runToCompletion(
                binary,
                [
                    "recharge"
                ] + server.databaseArguments + [
                    "--input", input.path, "--output", output.path, "--concurrency",
                    "1",
                ],
                environment: server.commandEnvironment(["PAYMENTS_NETWORK_LATENCY": "200"]),
                in: server.folder
            )
            // Watched from a thread of its own, as in killedHalfway: a task's poll can come after the run ended
            try await offCooperativePool {
                let deadline = ContinuousClock.now + .seconds(60)
                while try ledgers.networkApprovedAttempts().count == approvedBefore, ContinuousClock.now < deadline {
                    usleep(20_000)
                }
                try FileManager.default.removeItem(at: folder)
            }
            let finished = try await run

            // Then every row was charged, the run says its results could not be written and that a rerun replays
            // them, and prints them on standard output; its exit status is still the rows'
            #expect(finished.termination.status == 0, "\(finished.termination)\n\(finished.output)")
            #expect(try ledgers.networkApprovedAttempts().count - approvedBefore == rows)
            #expect(
                finished.output.contains(
                    "payments recharge: cannot write the results to \(output.path): No such file or directory. The "
                        + "charges were made; running the same file again replays them (nothing is charged twice). "
                        + "The results follow on standard output."
                ),
                "\(finished.output)"
            )
            #expect(!finished.output.contains("NSCocoaErrorDomain"), "\(finished.output)")
            let printed = finished.output.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("lost-") }
            #expect(printed.count == rows, "\(finished.output)")
            #expect(printed.allSatisfy { $0.contains(",succeeded,") }, "\(finished.output)")

            // And running the same file again replays every row, charging none twice
            let rerunOutput = server.folder.appendingPathComponent("lost-results-again.csv")
            let again = try await Self.recharge(server, input: input, output: rerunOutput)
            #expect(again.termination.status == 0, "\(again.output)")
            #expect(again.output.contains("\(rows) of these were answered by an earlier run"), "\(again.output)")
            let replayed = try Self.readCSV(rerunOutput).map {
                "\($0["reference"] ?? ""),\($0["payment_intent"] ?? "")"
            }
            #expect(replayed == printed.map { $0.split(separator: ",").prefix(2).joined(separator: ",") })
            #expect(try ledgers.networkApprovedAttempts().count - approvedBefore == rows)
        }
    }
}
