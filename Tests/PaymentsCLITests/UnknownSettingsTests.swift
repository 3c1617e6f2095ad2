import Foundation
import Testing

@testable import PaymentsCLI

@Suite("Settings under unknown names")
struct UnknownSettingsTests {
    @Test("every variable the README's configuration table documents is a known setting's, under its name")
    func documentedNamesKnown() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        // Rows of the table: | `name` | `PAYMENTS_NAME` | ...
        var documented: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count > 2, cells[1].hasPrefix("`PAYMENTS_") else { continue }
            documented[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] =
                cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
        }
        #expect(documented.count > 30, "\(documented)")
        // and every setting is documented
        #expect(
            Set(ServiceSettings.settingKinds.keys).subtracting(documented.keys).subtracting(["networkLatency"]).isEmpty
        )
        for (name, variable) in documented {
            #expect(ServiceSettings.settingKinds[name] != nil, "\(name) is documented but not known")
            #expect(ServiceSettings.environmentName(name) == variable, "\(name): \(variable)")
        }
        let environment = Dictionary(uniqueKeysWithValues: documented.values.map { ($0, "1") })
        #expect(ServiceSettings.unknownSettings(environment: environment).isEmpty)
    }

    @Test("names become variables word by word; a misspelling finds the name meant, another word none")
    func namesAndGuesses() {
        #expect(ServiceSettings.environmentName("publicBaseURL") == "PAYMENTS_PUBLIC_BASE_URL")
        #expect(ServiceSettings.environmentName("db") == "PAYMENTS_DB")
        #expect(ServiceSettings.environmentName("databaseURL") == "PAYMENTS_DATABASE_URL")
        let said = ServiceSettings.unknownSettings(
            environment: [
                "PAYMENTS_SYNCRONOUS": "NORMAL", "PAYMENTS_DEBUG": "1", "HOME": "/root", "PAYMENTS_PORT": "1",
            ]
        )
        #expect(
            said == [
                "The environment variable PAYMENTS_DEBUG is no setting of payments, and is ignored.",
                "The environment variable PAYMENTS_SYNCRONOUS is no setting of payments, and is ignored; did you mean "
                    + "PAYMENTS_SYNCHRONOUS?",
            ]
        )
        #expect(ServiceSettings.editDistance(Array("kitten"), Array("sitting")) == 3)
        #expect(ServiceSettings.editDistance(Array("prot"), Array("port")) == 1)
        #expect(ServiceSettings.closest(to: "prot", among: ["port", "host"]) == "port")
        #expect(ServiceSettings.closest(to: "colour", among: ["port", "host"]) == nil)
    }
}
