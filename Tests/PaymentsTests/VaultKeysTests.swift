import Foundation
import Payments
import PaymentsCore
import PaymentsStore
import Synchronization
import TestSupport
import Testing

/// The card vault's keys: old keys open, the current key seals, the fingerprint keys are the database's own, and
/// a rotation re-seals every card under the current key.
@Suite("Card vault keys and rotation")
struct VaultKeysTests {
    static let keyA = Data(repeating: 0xA1, count: 32).base64EncodedString()
    static let keyB = Data(repeating: 0xB2, count: 32).base64EncodedString()
    static let keyC = Data(repeating: 0xC3, count: 32).base64EncodedString()
    static let numbers = ["4242424242424242", "5555555555554444", "378282246310005", "6011111111111117"]

    /// Stores a payment method for each number, sealed and fingerprinted by `vault`.
    static func store(_ numbers: [String], in environment: TestEnvironment, vault: CardVault) async throws
        -> [(id: String, card: CardNumber, fingerprint: String)]
    {
        var stored: [(id: String, card: CardNumber, fingerprint: String)] = []
        for (index, number) in numbers.enumerated() {
            let card = try CardNumber(parsing: number)
            let id = "pm_vault\(index)_\(UUID().uuidString.prefix(8))"
            let method = PaymentMethod(
                id: id,
                created: 100,
                brand: "visa",
                last4: String(number.suffix(4)),
                expMonth: 12,
                expYear: 2030,
                fingerprint: vault.fingerprint(card),
                funding: "credit",
                country: "US",
                cvcCheck: nil
            )
            let sealed = try vault.sealedCard(card)
            try await environment.database.write { tx in try tx.insert(method, card: sealed) }
            stored.append((id, card, method.fingerprint))
        }
        return stored
    }

    @Test("a vault with an old key opens rows sealed under it and seals new ones under the current key")
    func oldKeysOpen() throws {
        let card = try CardNumber(parsing: "4242424242424242")
        let vaultA = try CardVault(base64Key: Self.keyA)
        let sealedA = try vaultA.sealedCard(card)
        let rolled = try CardVault(base64Key: Self.keyB, oldKeys: [Self.keyA])
        #expect(try rolled.open(sealedA) == card)
        let sealedB = try rolled.sealedCard(card)
        #expect(sealedB.keyID == rolled.keyID && sealedB.keyID != sealedA.keyID)
        #expect(rolled.oldKeyIDs == [vaultA.keyID])
        let onlyB = try CardVault(base64Key: Self.keyB)
        #expect(throws: CardVault.VaultError.unknownKey(sealedA.keyID)) { try onlyB.open(sealedA) }
        // A row that names A but holds bytes A did not seal does not open
        let forged = SealedCard(keyID: sealedA.keyID, sealed: sealedB.sealed)
        #expect(throws: (any Error).self) { try rolled.open(forged) }
        #expect(throws: CardVault.VaultError.badKey) { try CardVault(base64Key: Self.keyB, oldKeys: ["bm90IGEga2V5"]) }
    }

    @Test("a request fingerprint is HMAC-SHA256 under the HKDF-derived request key, as Python's hmac computes it")
    func requestFingerprintIsStable() throws {
        // Given the vault key A (32 bytes of 0xA1) and fingerprints computed outside Swift: HKDF-SHA256(A, no salt,
        // info "payments idempotency fingerprint v1") as the HMAC key (stored keys must keep matching)
        let vault = try CardVault(base64Key: Self.keyA)
        // Then the prepared MAC gives the same codes, message after message
        for _ in 0..<2 {
            #expect(
                vault.requestFingerprint("POST /v1/customers\nemail=a@example.com")
                    == "841dbcd5fbccc0af745a65705f5d088d143e5792fde2ef443bb8305cd45948c8"
            )
            #expect(
                vault.requestFingerprint("POST /v1/payment_intents\nmetadata[note]=ünïcode")
                    == "7ae338b3c59834ae2168cc902e711815bce808d57104a91e9957aaf8fe5d054d"
            )
        }
    }

    @Test("a card fingerprint is HMAC-SHA256 under the HKDF-derived card key, as Python's hmac computes it")
    func cardFingerprintIsStable() throws {
        // Given the vault key A and fingerprints computed outside Swift: HKDF-SHA256(A, no salt, info "payments card
        // fingerprint v1") as the HMAC key, the code's first 16 bytes each written as one of [0-9A-Za-z] (byte mod 62)
        let vault = try CardVault(base64Key: Self.keyA)
        // Then the prepared MAC gives the same fingerprints, card after card (stored fingerprints must keep matching)
        for _ in 0..<2 {
            #expect(vault.fingerprint(try CardNumber(parsing: "4242424242424242")) == "7sIoQR720NgdmVau")
            #expect(vault.fingerprint(try CardNumber(parsing: "5555 5555 5555 4444")) == "x6xumaK87B6f9sH5")
            #expect(vault.fingerprint(try CardNumber(parsing: "378282246310005")) == "0QDAnOYTESM7Djhf")
        }
    }

    @Test("rotation to B, then B alone: every card opens, under B, and fingerprints are as they were under A")
    func rotationKeepsFingerprints() async throws {
        // Given cards saved by a vault with key A (on a database that stores its fingerprint keys at first load)
        let environment = try TestEnvironment()
        let vaultA = try await CardVault.load(currentKey: Self.keyA, oldKeys: [], store: environment.database)
        let stored = try await Self.store(Self.numbers, in: environment, vault: vaultA)
        let requestFingerprint = vaultA.requestFingerprint("POST /v1/customers\nemail=a@example.com")

        // When B becomes current with A as an old key, and the rotation runs in batches of 3
        let rolled = try await CardVault.load(currentKey: Self.keyB, oldKeys: [Self.keyA], store: environment.database)
        let batches = Batches()
        let summary = try await VaultRotation(store: environment.database, vault: rolled, batchSize: 3).run { _ in
            batches.count.withLock { $0 += 1 }
        }

        // Then every card was re-sealed, in two batches, and the fingerprint keys with them
        #expect(summary.rotated == Self.numbers.count && summary.toRotate == Self.numbers.count)
        #expect(summary.unreadable.isEmpty && summary.alreadyCurrent == 0 && summary.secretsRotated)
        #expect(batches.count.withLock { $0 } == 2)
        let counts = try await environment.database.read { tx in try tx.sealedCardCounts() }
        #expect(counts == [rolled.keyID: Self.numbers.count])
        // And a vault with B alone opens them all and fingerprints (cards and requests) exactly as A's did
        let onlyB = try await CardVault.load(currentKey: Self.keyB, oldKeys: [], store: environment.database)
        for (id, card, fingerprint) in stored {
            #expect(try await environment.database.read { tx in try tx.cardNumber(of: id, vault: onlyB) } == card)
            #expect(onlyB.fingerprint(card) == fingerprint)
        }
        #expect(onlyB.requestFingerprint("POST /v1/customers\nemail=a@example.com") == requestFingerprint)
        // A second run has nothing left to do
        let again = try await VaultRotation(store: environment.database, vault: onlyB).run()
        #expect(again.rotated == 0 && again.alreadyCurrent == Self.numbers.count && !again.secretsRotated)
    }

    @Test("a database from before migration 0007 keeps its fingerprints: the keys come from the cards' vault key")
    func legacyDatabaseKeepsFingerprints() async throws {
        // Given cards sealed and fingerprinted as before (fingerprint keys derived from the vault key A)
        let environment = try TestEnvironment()
        let legacy = try CardVault(base64Key: Self.keyA)
        let stored = try await Self.store(Array(Self.numbers.prefix(2)), in: environment, vault: legacy)
        // When the first load already has B as the current key and A as an old one
        let rolled = try await CardVault.load(currentKey: Self.keyB, oldKeys: [Self.keyA], store: environment.database)
        // Then fingerprints are A's, not B's
        for (_, card, fingerprint) in stored {
            #expect(rolled.fingerprint(card) == fingerprint)
            #expect(try CardVault(base64Key: Self.keyB).fingerprint(card) != fingerprint)
        }
        #expect(
            rolled.requestFingerprint("x") == legacy.requestFingerprint("x"),
            "idempotency fingerprints changed"
        )
    }

    @Test("no configured key for the stored cards or fingerprint keys: loading the vault fails, naming key ids")
    func loadRefusesUnknownKeys() async throws {
        let legacyEnvironment = try TestEnvironment()
        let legacy = try CardVault(base64Key: Self.keyA)
        _ = try await Self.store(["4242424242424242"], in: legacyEnvironment, vault: legacy)
        await #expect(throws: CardVault.VaultError.cardsUnderUnknownKeys([legacy.keyID])) {
            _ = try await CardVault.load(currentKey: Self.keyB, oldKeys: [], store: legacyEnvironment.database)
        }
        let environment = try TestEnvironment()
        _ = try await CardVault.load(currentKey: Self.keyA, oldKeys: [], store: environment.database)
        await #expect(throws: CardVault.VaultError.secretsUnreadable(keyID: legacy.keyID)) {
            _ = try await CardVault.load(currentKey: Self.keyB, oldKeys: [Self.keyC], store: environment.database)
        }
    }

    @Test("cards no key opens are named, never opened, and the rest rotate")
    func unreadableCardsNamed() async throws {
        let environment = try TestEnvironment()
        let vaultA = try await CardVault.load(currentKey: Self.keyA, oldKeys: [], store: environment.database)
        let stored = try await Self.store(Self.numbers, in: environment, vault: vaultA)
        // Given one card under a key nobody configured, and one whose bytes are damaged
        let lost = stored[1].id
        let damaged = stored[2].id
        try await environment.database.write { tx in
            try tx.replaceSealedCard(
                of: lost,
                expecting: vaultA.keyID,
                with: SealedCard(keyID: "vk_000000000000", sealed: Data([1, 2, 3]))
            )
            let sealed = try #require(try tx.sealedCard(of: damaged))
            var bytes = sealed.sealed
            bytes[bytes.count - 1] ^= 0xFF
            try tx.replaceSealedCard(
                of: damaged,
                expecting: vaultA.keyID,
                with: SealedCard(keyID: sealed.keyID, sealed: bytes)
            )
        }
        // When rotating to B
        let rolled = try await CardVault.load(currentKey: Self.keyB, oldKeys: [Self.keyA], store: environment.database)
        let summary = try await VaultRotation(store: environment.database, vault: rolled, batchSize: 1).run()
        // Then both are named, and left as they were; the others are under B
        #expect(summary.unreadable.sorted() == [lost, damaged].sorted())
        // And the damaged one is told apart (its key is configured: `vault rotate` said to add it all the same)
        #expect(summary.damaged == [damaged])
        #expect(summary.rotated == Self.numbers.count - 2)
        let counts = try await environment.database.read { tx in try tx.sealedCardCounts() }
        #expect(counts == [rolled.keyID: 2, vaultA.keyID: 1, "vk_000000000000": 1])
    }

    @Test("two rotations at once re-seal each card once; neither overwrites the other's rows")
    func concurrentRotations() async throws {
        let environment = try TestEnvironment()
        let vaultA = try await CardVault.load(currentKey: Self.keyA, oldKeys: [], store: environment.database)
        let numbers = Array(repeating: Self.numbers, count: 10).flatMap { $0 }
        let stored = try await Self.store(numbers, in: environment, vault: vaultA)
        let rolled = try await CardVault.load(currentKey: Self.keyB, oldKeys: [Self.keyA], store: environment.database)
        async let first = VaultRotation(store: environment.database, vault: rolled, batchSize: 2).run()
        async let second = VaultRotation(store: environment.database, vault: rolled, batchSize: 3).run()
        let (one, two) = try await (first, second)
        #expect(one.rotated + two.rotated == numbers.count, "\(one) \(two)")
        #expect(one.unreadable.isEmpty && two.unreadable.isEmpty)
        let counts = try await environment.database.read { tx in try tx.sealedCardCounts() }
        #expect(counts == [rolled.keyID: numbers.count])
        for (id, card, _) in stored {
            #expect(try await environment.database.read { tx in try tx.cardNumber(of: id, vault: rolled) } == card)
        }
    }
}

/// How many batches a rotation reported.
final class Batches: Sendable {
    let count = Mutex(0)
}
