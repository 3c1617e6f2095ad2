import Foundation
import TestSupport
import Testing

/// The official Stripe Python library (PyPI `stripe`) against the built server: compat/stripe_compat.py; and the
/// server's objects against Stripe's own OpenAPI schemas: compat/stripe_schemas.py.
@Suite("Official Stripe client library and Stripe's schemas against the built binary")
struct StripeCompatibilityTests {
    /// `.venv/bin/python` when scripts/test made the virtualenv, else `python3` from the PATH.
    static func python() -> String {
        let venv = TestPaths.root.appendingPathComponent(".venv/bin/python").path
        if FileManager.default.isExecutableFile(atPath: venv) { return venv }
        return "/usr/bin/env"
    }

    /// The interpreter, as a person would name it.
    static var pythonName: String { python() == "/usr/bin/env" ? "python3 from the PATH" : python() }

    static func pythonArguments(_ arguments: [String]) -> [String] {
        python() == "/usr/bin/env" ? ["python3"] + arguments : arguments
    }

    @Test("compat/stripe_compat.py passes every check", arguments: TestStore.allCases)
    func stripePython(_ store: TestStore) async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-python")
        defer { try? FileManager.default.removeItem(at: folder) }
        let environment = PaymentsBinary.environment(["PYTHONDONTWRITEBYTECODE": "1"])

        let probe = try await runToCompletion(
            Self.python(),
            Self.pythonArguments(["-c", "import stripe; print(stripe.VERSION)"]),
            environment: environment,
            in: folder
        )
        try #require(
            probe.termination.isCleanExit,
            """
            The Python `stripe` library is not importable with \(Self.pythonName) (\(probe.termination)). \
            Run scripts/test: it creates .venv with `stripe` installed, then builds and runs the tests.
            \(probe.output)
            """
        )

        try await withServer(store: store) { server in
            let script = TestPaths.root.appendingPathComponent("compat/stripe_compat.py").path
            let run = try await runToCompletion(
                Self.python(),
                Self.pythonArguments([
                    script, "--base-url", server.baseURL.absoluteString, "--secret-key", server.secretKey,
                    "--publishable-key", server.publishableKey,
                ]),
                environment: environment,
                in: folder
            )
            #expect(
                run.termination.isCleanExit,
                "stripe_compat.py: \(run.termination)\n\(run.output)\n\(server.diagnostics)"
            )
            let last = run.output.split(separator: "\n").last.map(String.init) ?? ""
            #expect(last.hasSuffix(" passed, 0 failed"), "last line: \(last)\n\(run.output)")
            let passed = Int(last.split(separator: " ").first ?? "") ?? 0
            #expect(passed >= 22, "\(run.output)")
        }
    }

    @Test(
        "compat/stripe_schemas.py: every object the server renders is valid under Stripe's schema",
        arguments: TestStore.allCases
    )
    func stripeSchemas(_ store: TestStore) async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-schemas")
        defer { try? FileManager.default.removeItem(at: folder) }
        let environment = PaymentsBinary.environment(["PYTHONDONTWRITEBYTECODE": "1"])
        let probe = try await runToCompletion(
            Self.python(),
            Self.pythonArguments(["-c", "import jsonschema; print(jsonschema.__version__)"]),
            environment: environment,
            in: folder
        )
        try #require(
            probe.termination.isCleanExit,
            """
            The Python `jsonschema` library is not importable with \(Self.pythonName) (\(probe.termination)). \
            Run scripts/test: it installs schemathesis, which brings jsonschema, into .venv.
            \(probe.output)
            """
        )

        try await withServer(store: store) { server in
            let script = TestPaths.root.appendingPathComponent("compat/stripe_schemas.py").path
            let run = try await runToCompletion(
                Self.python(),
                Self.pythonArguments([
                    script, "--base-url", server.baseURL.absoluteString, "--secret-key", server.secretKey,
                    "--publishable-key", server.publishableKey,
                ]),
                environment: environment,
                in: folder
            )
            #expect(
                run.termination.isCleanExit,
                "stripe_schemas.py: \(run.termination)\n\(run.output)\n\(server.diagnostics)"
            )
            let last = run.output.split(separator: "\n").last.map(String.init) ?? ""
            #expect(last.hasSuffix(" passed, 0 failed"), "last line: \(last)\n\(run.output)")
            // Every kind of object, in each state the script makes, was checked (62 at its writing)
            let passed = Int(last.split(separator: " ").first ?? "") ?? 0
            #expect(passed >= 55, "\(run.output)")
        }
    }
}
