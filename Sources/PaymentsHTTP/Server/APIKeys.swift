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

    /// Extracts the key from a Bearer or Basic `Authorization` header.
    static func key(fromAuthorization header: String?) -> String? {
        guard let header else { return nil }
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        if trimmed.lowercased().hasPrefix("bearer ") {
            return String(trimmed.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        if trimmed.lowercased().hasPrefix("basic ") {
            let encoded = String(trimmed.dropFirst(6)).trimmingCharacters(in: .whitespaces)
            guard let data = Data(base64Encoded: encoded), let decoded = String(data: data, encoding: .utf8) else {
                return nil
            }
            return String(decoded.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        }
        return nil
    }
}
