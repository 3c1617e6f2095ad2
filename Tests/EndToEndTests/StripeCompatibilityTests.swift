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
        try await Self.run("compat/stripe_compat.py", needing: "stripe", store: store, atLeast: 22)
    }

    @Test(
        "compat/stripe_schemas.py: every object the server renders is valid under Stripe's schema",
        arguments: TestStore.allCases
    )
    func stripeSchemas(_ store: TestStore) async throws {
        // Every kind of object, in each state the script makes, checked (62 at its writing)
        try await Self.run("compat/stripe_schemas.py", needing: "jsonschema_rs", store: store, atLeast: 55)
    }

    /// Runs the Python `script` (whose last line is "N passed, M failed") against a server on `store`, once the
    /// `module` it needs is importable; expects no failure and at least `atLeast` checks passed.
    static func run(_ script: String, needing module: String, store: TestStore, atLeast: Int) async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-python")
        defer { try? FileManager.default.removeItem(at: folder) }
        let environment = PaymentsBinary.environment(["PYTHONDONTWRITEBYTECODE": "1"])

        let probe = try await runToCompletion(
            Self.python(),
            Self.pythonArguments(["-c", "import \(module)"]),
            environment: environment,
            in: folder
        )
        try #require(
            probe.termination.isCleanExit,
            """
            The Python `\(module)` library is not importable with \(Self.pythonName) (\(probe.termination)). \
            Run scripts/test: it creates .venv with `stripe` installed, and schemathesis, which brings `jsonschema_rs`.
            \(probe.output)
            """
        )

        try await withServer(store: store) { server in
            let path = TestPaths.root.appendingPathComponent(script).path
            let run = try await runToCompletion(
                Self.python(),
                Self.pythonArguments([
                    path, "--base-url", server.baseURL.absoluteString, "--secret-key", server.secretKey,
                    "--publishable-key", server.publishableKey,
                ]),
                environment: environment,
                in: folder
            )
            #expect(run.termination.isCleanExit, "\(script): \(run.termination)\n\(run.output)\n\(server.diagnostics)")
            let last = run.output.split(separator: "\n").last.map(String.init) ?? ""
            #expect(last.hasSuffix(" passed, 0 failed"), "last line: \(last)\n\(run.output)")
            let passed = Int(last.split(separator: " ").first ?? "") ?? 0
            #expect(passed >= atLeast, "\(run.output)")
        }
    }
}
