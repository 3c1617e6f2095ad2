import Foundation
import Payments
import PaymentsCore
import PaymentsStore
import TestSupport
import Testing

@Suite("Card vault")
struct CardVaultTests {
    /// Test cards of several brands and lengths.
    static let numbers = [
        "4242424242424242", "4000002500003155", "5555555555554444", "378282246310005", "4000000000009995",
        "6011111111111117",
    ]

    /// The ways a number could appear in clear: digits only, and grouped with spaces as printed on cards.
    static func clearForms(_ number: String) -> [String] {
        let digits = Array(number)
        let groups: [Int] = digits.count == 15 ? [4, 6, 5] : Array(repeating: 4, count: (digits.count + 3) / 4)
        var spaced: [String] = []
        var index = 0
        for size in groups where index < digits.count {
            spaced.append(String(digits[index..<min(index + size, digits.count)]))
            index += size
        }
        return [number, spaced.joined(separator: " "), spaced.joined(separator: "-")]
    }

    /// The bytes of every file of a SQLite database that exists: the main file, its WAL and its shared memory.
    static func fileBytes(_ path: String) -> [(String, Data)] {
        [path, path + "-wal", path + "-shm"].compactMap { file in
            FileManager.default.contents(atPath: file).map { (file, $0) }
        }
    }

    @Test("The database, its WAL and the network ledger never hold a card number in clear")
    func neverInClear() async throws {
        // Given payment methods for several test cards, each charged once at the network
        let environment = try TestEnvironment()
        let database = environment.database
        let vault = environment.context.vault
        var saved: [(PaymentMethod, CardNumber)] = []
        for number in Self.numbers {
            saved.append(
                (
                    try await environment.paymentMethods.create(
                        .init(card: .init(number: number, expMonth: 12, expYear: 2030, cvc: nil))
                    ), try CardNumber(parsing: number)
                )
            )
        }
        for (index, (_, card)) in saved.enumerated() {
            _ = try await environment.network.authorize(
                .sample("ch_vault\(index)", card: card, now: environment.clock.now)
            )
        }
        // When the raw bytes of every file are read while the database is open
        let ledgerPath = environment.folder.appendingPathComponent("card-network.sqlite").path
        let files = Self.fileBytes(database.path) + Self.fileBytes(ledgerPath)
        #expect(FileManager.default.fileExists(atPath: database.path + "-wal"))
        #expect(files.count >= 3)
        // Then what is stored is findable (the scan reads real rows)...
        let everything = files.reduce(Data()) { $0 + $1.1 }
        for (paymentMethod, _) in saved {
            #expect(everything.range(of: Data(paymentMethod.id.utf8)) != nil, "\(paymentMethod.id) not found")
        }
        // ...but no file contains a number in clear
        for (file, bytes) in files {
            for number in Self.numbers {
                for form in Self.clearForms(number) {
                    #expect(bytes.range(of: Data(form.utf8)) == nil, "\(form) in \(file)")
                }
            }
        }
        // And the vault gives each number back
        for (paymentMethod, card) in saved {
            let sealed = try await database.read { tx in try tx.sealedCard(of: paymentMethod.id) }
            #expect(try sealed.map { try vault.open($0.sealed) } == card)
            #expect(sealed?.keyID == vault.keyID)
        }
        #expect(try await database.read { tx in try tx.sealedCard(of: "pm_unknown") } == nil)
    }

    @Test("Fingerprints: equal for equal numbers, different for different numbers and keys")
    func fingerprints() throws {
        // Given two vaults and some cards
        let vault = try CardVault(base64Key: TestEnvironment.vaultKey)
        let otherVault = try CardVault(base64Key: Data(repeating: 7, count: 32).base64EncodedString())
        let visa = try CardNumber(parsing: "4242424242424242")
        let visaFormatted = try CardNumber(parsing: "4242 4242 4242 4242")
        let mastercard = try CardNumber(parsing: "5555555555554444")
        // Then
        #expect(vault.fingerprint(visa) == vault.fingerprint(visaFormatted))
        #expect(vault.fingerprint(visa) != vault.fingerprint(mastercard))
        #expect(vault.fingerprint(visa) != otherVault.fingerprint(visa))
        #expect(vault.fingerprint(visa).count == 16)
        #expect(!vault.fingerprint(visa).contains("4242"))
    }

    @Test("Sealing uses a fresh nonce and only the right key opens it")
    func sealing() throws {
        // Given
        let vault = try CardVault(base64Key: TestEnvironment.vaultKey)
        let otherVault = try CardVault(base64Key: Data(repeating: 7, count: 32).base64EncodedString())
        let card = try CardNumber(parsing: "4242424242424242")
        // When the same card is sealed twice
        let first = try vault.seal(card)
        let second = try vault.seal(card)
        // Then the ciphertexts differ, hide the number, and open to it
        #expect(first != second)
        #expect(first.range(of: Data(card.digits.utf8)) == nil)
        #expect(try vault.open(first) == card)
        #expect(try vault.open(second) == card)
        #expect(throws: (any Error).self) { try otherVault.open(first) }
        #expect(vault.keyID != otherVault.keyID)
    }

    @Test(
        "A vault key must be 32 bytes of base64",
        arguments: ["", "not base64!", Data(count: 16).base64EncodedString()]
    )
    func badKeys(key: String) {
        #expect(throws: CardVault.VaultError.self) { try CardVault(base64Key: key) }
    }
}
