import Crypto
import Foundation
import PaymentsCore

/// Seals full card numbers with AES-GCM before they reach the database, and fingerprints them.
///
/// The only place a card number exists at rest is the `card_vault` table, as AES-256-GCM ciphertext (nonce,
/// ciphertext and tag together) under a vault key; the keys themselves come from configuration and are never
/// written to the database. The vault holds one current key, which seals, and any number of old keys, which only
/// open: each row names the key that sealed it (``keyID``), so rows sealed under either open while `payments vault
/// rotate` re-seals the old ones under the current key.
///
/// Fingerprints are HMAC-SHA256 of the number under a fingerprint key, so equal cards match but a fingerprint
/// reveals nothing without the key. The fingerprint keys (``Secrets``) do not follow the vault key: they were made
/// once from the vault key that sealed a database's first cards and are kept in the database, sealed like a card
/// (``CardVault/load(currentKey:oldKeys:store:)``), so a rotation leaves every fingerprint as it was.
public struct CardVault: Sendable {
    // Kept as bytes (Sendable) and turned into `SymmetricKey` per use; the conversion is a copy of 32 bytes.
    private let keyBytes: Data
    /// Every key the vault opens with, current and old, by key id.
    private let openingKeys: [String: Data]
    private let secrets: Secrets
    /// HMAC-SHA256 under the request key, its key schedule done once: every idempotent request (a replay too) is
    /// fingerprinted, and preparing the key took a quarter of the fingerprint's cost.
    private let requestMAC: PreparedMAC
    /// HMAC-SHA256 under the card fingerprint key, prepared once for the same reason: every new card (a magic test
    /// id's on each payment) is fingerprinted.
    private let cardMAC: PreparedMAC
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }
    /// Names the current key (the one that seals), so a later key rotation knows which rows to re-seal.
    public let keyID: String
    /// The ids of the old keys, in the order configured.
    public let oldKeyIDs: [String]

    /// Problems with the vault keys or a sealed row.
    public enum VaultError: Error, CustomStringConvertible, Equatable {
        /// A configured key is not 32 bytes of base64.
        case badKey
        /// A sealed value did not open (wrong key, or damaged bytes).
        case unreadable
        /// A payment method's sealed card did not open under the key its row names: its bytes are damaged.
        case unreadableCard(paymentMethod: String, keyID: String)
        /// A sealed value names a key that is not configured.
        case unknownKey(String)
        /// The database's fingerprint keys are sealed under a key that is not configured, or did not open.
        case secretsUnreadable(keyID: String)
        /// The database holds cards sealed under keys none of which is configured, so the fingerprint keys cannot
        /// be made from the key that made the stored fingerprints.
        case cardsUnderUnknownKeys([String])

        public var description: String {
            switch self {
            case .badKey: "The vault key must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)."
            case .unreadable: "A sealed card could not be opened with the configured vault key."
            case .unreadableCard(let paymentMethod, let keyID):
                "The saved card of \(paymentMethod) does not open under the vault key it names (\(keyID)): its sealed "
                    + "bytes are damaged."
            case .unknownKey(let id): "A sealed card names the vault key \(id), which is not configured."
            case .secretsUnreadable(let id):
                "This database's fingerprint keys are sealed under the vault key \(id), which neither "
                    + "PAYMENTS_VAULT_KEY nor PAYMENTS_VAULT_OLD_KEYS opens: configure the key this database's "
                    + "cards were sealed with (as the current or an old key)."
            case .cardsUnderUnknownKeys(let ids):
                "This database's cards are sealed under the vault key(s) \(ids.joined(separator: ", ")), none of "
                    + "which PAYMENTS_VAULT_KEY or PAYMENTS_VAULT_OLD_KEYS is: configure the key the cards were "
                    + "sealed with."
            }
        }
    }

    /// The keys fingerprints are made with: of card numbers (``fingerprint(_:)``) and of idempotent requests'
    /// parameters (``requestFingerprint(_:)``).
    public struct Secrets: Sendable, Equatable {
        let fingerprintKey: Data
        let requestKey: Data

        /// The secrets a vault key made before they were kept in the database: HKDF-SHA256 of the key, so a
        /// database whose first cards that key sealed keeps its fingerprints.
        static func derived(from keyBytes: Data) -> Secrets {
            func derive(_ info: String) -> Data {
                HKDF<SHA256>.deriveKey(
                    inputKeyMaterial: SymmetricKey(data: keyBytes),
                    info: Data(info.utf8),
                    outputByteCount: 32
                ).withUnsafeBytes { Data($0) }
            }
            return Secrets(
                fingerprintKey: derive("payments card fingerprint v1"),
                requestKey: derive("payments idempotency fingerprint v1")
            )
        }

        /// Both keys in one 64-byte value, to seal.
        var bytes: Data { fingerprintKey + requestKey }

        /// Reads a value of ``bytes``.
        init?(bytes: Data) {
            guard bytes.count == 64 else { return nil }
            self.init(fingerprintKey: Data(bytes.prefix(32)), requestKey: Data(bytes.suffix(32)))
        }

        init(fingerprintKey: Data, requestKey: Data) {
            self.fingerprintKey = fingerprintKey
            self.requestKey = requestKey
        }
    }

    /// Creates a vault from a base64-encoded 32-byte current key and old keys that only open, with the fingerprint
    /// keys derived from the current key (a database's own are kept in it: ``load(currentKey:oldKeys:store:)``).
    /// - Throws: ``VaultError/badKey`` when a key is not 32 bytes of base64.
    public init(base64Key: String, oldKeys: [String] = []) throws {
        let current = try Self.keyBytes(base64Key)
        let old = try oldKeys.map(Self.keyBytes)
        self.init(current: current, old: old, secrets: .derived(from: current))
    }

    private init(current: Data, old: [Data], secrets: Secrets) {
        self.keyBytes = current
        self.keyID = Self.keyID(of: current)
        self.oldKeyIDs = old.map(Self.keyID(of:)).filter { $0 != Self.keyID(of: current) }
        var keys = [Self.keyID(of: current): current]
        for bytes in old where keys[Self.keyID(of: bytes)] == nil { keys[Self.keyID(of: bytes)] = bytes }
        self.openingKeys = keys
        self.secrets = secrets
        self.requestMAC = PreparedMAC(HMAC<SHA256>(key: SymmetricKey(data: secrets.requestKey)))
        self.cardMAC = PreparedMAC(HMAC<SHA256>(key: SymmetricKey(data: secrets.fingerprintKey)))
    }

    /// This vault with the fingerprint keys `secrets`.
    func with(_ secrets: Secrets) -> CardVault {
        CardVault(
            current: keyBytes,
            old: oldKeyIDs.compactMap { openingKeys[$0] },
            secrets: secrets
        )
    }

    /// The 32 bytes of a base64 key.
    private static func keyBytes(_ base64: String) throws -> Data {
        guard let data = Data(base64Encoded: base64), data.count == 32 else { throw VaultError.badKey }
        return data
    }

    /// The id of a key as rows name it: `vk_` and 12 hex digits of a SHA-256 of the key (reveals nothing of it).
    static func keyID(of keyBytes: Data) -> String {
        let digest = SHA256.hash(data: keyBytes + Data("payments vault key id".utf8))
        return "vk_" + Array(digest.prefix(6)).hexString
    }

    /// The id of a base64-encoded key, or nil when it is not a vault key.
    public static func keyID(ofBase64Key base64: String) -> String? {
        (try? keyBytes(base64)).map(keyID(of:))
    }

    /// Whether the vault has the key `keyID` (current or old).
    public func hasKey(_ keyID: String) -> Bool { openingKeys[keyID] != nil }

    // MARK: - Sealing and opening

    /// Seals a card number under this vault's current key, as the store keeps it.
    public func sealedCard(_ card: CardNumber) throws -> SealedCard {
        SealedCard(keyID: keyID, sealed: try seal(card))
    }

    /// Seals a card number under the current key; the result is safe to store.
    public func seal(_ card: CardNumber) throws -> Data {
        try seal(bytes: Data(card.digits.utf8))
    }

    /// Opens a card number sealed under the current key.
    public func open(_ sealed: Data) throws -> CardNumber {
        try cardNumber(try open(bytes: sealed, with: keyBytes))
    }

    /// Opens a sealed card under the key it names, current or old.
    /// - Throws: ``VaultError/unknownKey(_:)`` when its key is not configured; an error when it does not open.
    public func open(_ card: SealedCard) throws -> CardNumber {
        guard let key = openingKeys[card.keyID] else { throw VaultError.unknownKey(card.keyID) }
        return try cardNumber(try open(bytes: card.sealed, with: key))
    }

    /// Re-seals `card` under the current key (a rotation's step); the number stays in memory.
    public func resealed(_ card: SealedCard) throws -> SealedCard {
        try sealedCard(try open(card))
    }

    private func seal(bytes: Data) throws -> Data {
        guard let combined = try AES.GCM.seal(bytes, using: key).combined else { throw VaultError.unreadable }
        return combined
    }

    private func open(bytes sealed: Data, with key: Data) throws -> Data {
        do {
            return try AES.GCM.open(try AES.GCM.SealedBox(combined: sealed), using: SymmetricKey(data: key))
        } catch {
            // CryptoKit's own error (`underlyingCoreCryptoError(error: 503316581)`) said nothing to an operator
            throw VaultError.unreadable
        }
    }

    private func cardNumber(_ plain: Data) throws -> CardNumber {
        guard let digits = String(data: plain, encoding: .utf8) else { throw VaultError.unreadable }
        return try CardNumber(parsing: digits)
    }

    // MARK: - The fingerprint keys, sealed

    /// The fingerprint keys sealed under the current key, as the database keeps them.
    func sealedSecrets() throws -> SealedCard {
        SealedCard(keyID: keyID, sealed: try seal(bytes: secrets.bytes))
    }

    /// Opens fingerprint keys sealed under any of the vault's keys.
    func openSecrets(_ sealed: SealedCard) throws -> Secrets {
        guard let key = openingKeys[sealed.keyID], let plain = try? open(bytes: sealed.sealed, with: key),
            let secrets = Secrets(bytes: plain)
        else { throw VaultError.secretsUnreadable(keyID: sealed.keyID) }
        return secrets
    }

    /// The fingerprint keys the vault key `keyID` made before they were kept in the database.
    func derivedSecrets(keyID: String) -> Secrets? {
        openingKeys[keyID].map(Secrets.derived(from:))
    }

    // MARK: - Fingerprints

    /// A 16-character fingerprint of the card: equal for equal numbers, irreversible without the fingerprint key.
    public func fingerprint(_ card: CardNumber) -> String {
        var mac = cardMAC.base
        var digits = card.digits
        digits.withUTF8 { mac.update(data: UnsafeRawBufferPointer($0)) }
        let alphabet = Self.fingerprintAlphabet
        return String(decoding: mac.finalize().prefix(16).map { alphabet[Int($0) % alphabet.count] }, as: UTF8.self)
    }

    /// The 62 characters a fingerprint is written with, as bytes.
    private static let fingerprintAlphabet = Array(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8
    )

    /// A hex HMAC-SHA256 of a request's canonical parameters, under a key kept with the fingerprint key: the
    /// idempotency fingerprint. Requests carry card numbers and CVCs; an unkeyed hash of those could be reversed by
    /// trying every number of a card range, a keyed one cannot without the key.
    public func requestFingerprint(_ canonical: String) -> String {
        var mac = requestMAC.base
        var text = canonical
        text.withUTF8 { mac.update(data: UnsafeRawBufferPointer($0)) }
        return Array(mac.finalize()).hexString
    }
}

/// An HMAC whose key schedule is done, copied for each message. swift-crypto does not declare `HMAC` `Sendable`; it
/// is a value (the inner hash state and the outer key) and this one is never mutated, only copied.
private struct PreparedMAC: @unchecked Sendable {
    let base: HMAC<SHA256>

    init(_ base: HMAC<SHA256>) { self.base = base }
}
