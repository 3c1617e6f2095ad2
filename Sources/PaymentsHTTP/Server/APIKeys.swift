import Foundation
import Payments
import PaymentsCore

/// The merchant's API keys and what each may do.
public struct APIKeys: Sendable {
    public let secret: String
    public let publishable: String
    /// The scopes of each key's idempotency keys (hashes: the database never holds an API key), computed once.
    private let secretIdempotencyScope: String
    private let publishableIdempotencyScope: String

    /// Creates the key pair.
    public init(secret: String, publishable: String) {
        self.secret = secret
        self.publishable = publishable
        self.secretIdempotencyScope = IdempotencyKeys.scope(forAPIKey: secret)
        self.publishableIdempotencyScope = IdempotencyKeys.scope(forAPIKey: publishable)
    }

    /// The scope of the idempotency keys sent with the key of `scope`.
    func idempotencyScope(of scope: Scope) -> String {
        scope == .secret ? secretIdempotencyScope : publishableIdempotencyScope
    }

    /// Which kind of key authenticated a request.
    public enum Scope: Sendable, Equatable {
        /// `sk_...`: may do everything.
        case secret
        /// `pk_...`: may create payment methods, and read or confirm one intent with its client secret.
        case publishable
    }

    /// Authenticates an `Authorization` header: `Bearer <key>`, or Basic with the key as user name.
    /// - Throws: 401 for a missing or unknown key.
    public func authenticate(authorization: String?) throws(PaymentError) -> Scope {
        guard let key = Self.key(fromAuthorization: authorization), !key.isEmpty else { throw .missingAPIKey }
        if ConstantTime.equals(key, secret) { return .secret }
        if ConstantTime.equals(key, publishable) { return .publishable }
        throw .invalidAPIKey(key)
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
