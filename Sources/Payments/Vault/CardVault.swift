import Crypto
import Foundation
import PaymentsCore

/// Seals full card numbers with AES-GCM before they reach the database, and fingerprints them.
///
/// The only place a card number exists at rest is the `card_vault` table, as AES-256-GCM ciphertext (nonce,
/// ciphertext and tag together) under the vault key; the key itself comes from configuration and is never
/// written to the database. Fingerprints are HMAC-SHA256 of the number under a key derived from the vault key,
/// so equal cards match but a fingerprint reveals nothing without the key.
public struct CardVault: Sendable {
    // Kept as bytes (Sendable) and turned into `SymmetricKey` per use; the conversion is a copy of 32 bytes.
    private let keyBytes: Data
    private let fingerprintKeyBytes: Data
    private let requestKeyBytes: Data
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }
    private var fingerprintKey: SymmetricKey { SymmetricKey(data: fingerprintKeyBytes) }
    /// Names the key that sealed a row, so a later key rotation knows which rows to re-seal.
    public let keyID: String

    /// Problems with the vault key or a sealed row.
    public enum VaultError: Error, CustomStringConvertible {
        case badKey
        case unreadable

        public var description: String {
            switch self {
            case .badKey: "The vault key must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)."
            case .unreadable: "A sealed card could not be opened with the configured vault key."
            }
        }
    }

    /// Creates a vault from a base64-encoded 32-byte key.
    public init(base64Key: String) throws {
        guard let data = Data(base64Encoded: base64Key), data.count == 32 else { throw VaultError.badKey }
        self.keyBytes = data
        let derived = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: data),
            info: Data("payments card fingerprint v1".utf8),
            outputByteCount: 32
        )
        self.fingerprintKeyBytes = derived.withUnsafeBytes { Data($0) }
        let requestKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: data),
            info: Data("payments idempotency fingerprint v1".utf8),
            outputByteCount: 32
        )
        self.requestKeyBytes = requestKey.withUnsafeBytes { Data($0) }
        let digest = SHA256.hash(data: data + Data("payments vault key id".utf8))
        self.keyID = "vk_" + Array(digest.prefix(6)).hexString
    }

    /// Seals a card number under this vault's key, as the store keeps it.
    public func sealedCard(_ card: CardNumber) throws -> SealedCard {
        SealedCard(keyID: keyID, sealed: try seal(card))
    }

    /// Seals a card number; the result is safe to store.
    public func seal(_ card: CardNumber) throws -> Data {
        guard let combined = try AES.GCM.seal(Data(card.digits.utf8), using: key).combined else {
            throw VaultError.unreadable
        }
        return combined
    }

    /// Opens a sealed card number.
    public func open(_ sealed: Data) throws -> CardNumber {
        let box = try AES.GCM.SealedBox(combined: sealed)
        let plain = try AES.GCM.open(box, using: key)
        guard let digits = String(data: plain, encoding: .utf8) else { throw VaultError.unreadable }
        return try CardNumber(parsing: digits)
    }

    /// A 16-character fingerprint of the card: equal for equal numbers, irreversible without the vault key.
    public func fingerprint(_ card: CardNumber) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(card.digits.utf8), using: fingerprintKey)
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        return String(mac.prefix(16).map { alphabet[Int($0) % alphabet.count] })
    }

    /// A hex HMAC-SHA256 of a request's canonical parameters, under a key derived from the vault key: the
    /// idempotency fingerprint. Requests carry card numbers and CVCs; an unkeyed hash of those could be reversed by
    /// trying every number of a card range, a keyed one cannot without the key.
    public func requestFingerprint(_ canonical: String) -> String {
        Array(HMAC<SHA256>.authenticationCode(for: Data(canonical.utf8), using: SymmetricKey(data: requestKeyBytes)))
            .hexString
    }
}
