import Foundation
import Payments
import PaymentsCore

/// The merchant's API keys and what each may do.
///
/// Several keys of each kind may be configured at once, so a key is rolled without downtime: add the new one,
/// move the clients to it, remove the old one. Every key of a kind may do the same things, and shares one scope of
/// idempotency keys (``IdempotencyKeys/secretKeyScope``), so a request retried with the new key replays.
public struct APIKeys: Sendable {
    /// The secret keys, in the order configured.
    public let secretKeys: [String]
    /// The publishable keys, in the order configured; the first is the one the checkout page hands to browsers.
    public let publishableKeys: [String]
    /// Every key as bytes, with its kind, prepared once: authentication runs on every request.
    private let candidates: [(bytes: [UInt8], scope: Scope)]

    /// Creates the keys: one or more of each kind.
    public init(secret: [String], publishable: [String]) {
        self.secretKeys = secret
        self.publishableKeys = publishable
        self.candidates =
            secret.map { (Array($0.utf8), Scope.secret) } + publishable.map { (Array($0.utf8), Scope.publishable) }
    }

    /// Creates the keys: one of each kind.
    public init(secret: String, publishable: String) {
        self.init(secret: [secret], publishable: [publishable])
    }

    /// The first secret key.
    public var secret: String { secretKeys.first ?? "" }
    /// The publishable key to hand out (to the checkout page): the first configured.
    public var publishable: String { publishableKeys.first ?? "" }

    /// The scope of the idempotency keys sent with the key of `scope`.
    func idempotencyScope(of scope: Scope) -> String {
        scope == .secret ? IdempotencyKeys.secretKeyScope : IdempotencyKeys.publishableKeyScope
    }

    /// Moves the idempotency keys stored under each configured key's own scope (before keys were scoped by their
    /// kind) into its kind's scope, so a request made before still replays after.
    /// - Returns: how many idempotency keys moved.
    @discardableResult
    func adoptLegacyIdempotencyScopes(_ idempotency: IdempotencyKeys) async throws -> Int {
        let secret = try await idempotency.adoptLegacyScopes(of: secretKeys, into: IdempotencyKeys.secretKeyScope)
        let publishable = try await idempotency.adoptLegacyScopes(
            of: publishableKeys,
            into: IdempotencyKeys.publishableKeyScope
        )
        return secret + publishable
    }

    /// Which kind of key authenticated a request.
    public enum Scope: Sendable, Equatable {
        /// `sk_...`: may do everything.
        case secret
        /// `pk_...`: may create payment methods, and read or confirm one intent with its client secret.
        case publishable
    }

    /// Authenticates an `Authorization` header: `Bearer <key>`, or Basic with the key as user name.
    ///
    /// The key is compared with every configured key, each comparison in constant time (``ConstantTime``) and
    /// none ending the loop early, so the time taken says nothing of which key matched or how much of a guess
    /// was right.
    /// - Throws: 401 for a missing or unknown key; its message shows only the sent key's masked form.
    public func authenticate(authorization: String?) throws(PaymentError) -> Scope {
        try authenticatedKey(authorization: authorization).scope
    }

    /// As ``authenticate(authorization:)``, also saying which configured key matched (its position among the
    /// secret keys, then the publishable keys): the per-key rate limit keeps a bucket for each.
    func authenticatedKey(authorization: String?) throws(PaymentError) -> (scope: Scope, index: Int) {
        guard let key = Self.key(fromAuthorization: authorization), !key.isEmpty else { throw .missingAPIKey }
        let sent = Array(key.utf8)
        var matched: (scope: Scope, index: Int)?
        for (index, candidate) in candidates.enumerated() where ConstantTime.equals(sent, candidate.bytes) {
            matched = (candidate.scope, index)
        }
        guard let matched else { throw .invalidAPIKey(key) }
        return matched
    }

    /// Extracts the key from a Bearer or Basic `Authorization` header (the scheme's name in any case, spaces and
    /// tabs around the parts ignored). Runs on every request, so it works on the header's UTF-8 view rather than
    /// through Foundation's trimming and lowercasing (4% of a retrieve's CPU in a `perf` profile).
    static func key(fromAuthorization header: String?) -> String? {
        guard let header else { return nil }
        let trimmed = Self.trimmed(Substring(header))
        if let token = Self.dropScheme("bearer ", from: trimmed) {
            return String(Self.trimmed(token))
        }
        if let token = Self.dropScheme("basic ", from: trimmed) {
            let encoded = String(Self.trimmed(token))
            guard let data = Data(base64Encoded: encoded), let decoded = String(data: data, encoding: .utf8) else {
                return nil
            }
            return String(decoded.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        }
        return nil
    }

    /// `text` without the spaces and tabs around it.
    private static func trimmed(_ text: Substring) -> Substring {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isBlank($0) }), let last = text.lastIndex(where: { !isBlank($0) })
        else { return "" }
        return text[first...last]
    }

    /// What follows `scheme` (lowercase ASCII, with its trailing space) at the start of `text`, matched without
    /// regard to case; nil when `text` does not start with it.
    private static func dropScheme(_ scheme: String, from text: Substring) -> Substring? {
        let prefix = text.utf8.prefix(scheme.utf8.count)
        let lowercased = prefix.lazy.map { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
        }
        guard prefix.count == scheme.utf8.count, lowercased.elementsEqual(scheme.utf8) else { return nil }
        return text.dropFirst(scheme.count)
    }
}
