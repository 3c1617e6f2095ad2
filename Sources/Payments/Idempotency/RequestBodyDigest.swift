import Crypto
import Foundation

/// A keyed SHA-256 (HMAC) of a request's body as received, with its content type: two requests with the same
/// digest have the same bytes, so they parse to the same parameters.
///
/// It lets a retry skip parsing altogether: once this process has replayed a finished key to a request with these
/// bytes (``FinishedKeys/noteReplay(apiKey:key:body:)``), the next one with the same bytes replays at once
/// (``IdempotencyKeys/replayed(apiKey:key:method:path:body:)``). Parsing the body, writing its parameters as
/// canonical text and its fingerprint were a sixth of a W3 replay's time on the cooperative pool (`perf`).
///
/// A body may hold a card number, and an unkeyed hash of one could be reversed by trying every number of a card
/// range; this one is keyed by a random key drawn when the process starts, never written anywhere. The digests are
/// kept in memory only, beside the rows they belong to.
public struct RequestBodyDigest: Sendable, Hashable {
    /// The digest's 32 bytes, as four words (no allocation; compared word by word).
    private let a, b, c, d: UInt64

    /// The digest of `body` sent as `contentType` (nil when the request had none).
    public init(contentType: String?, body: UnsafeRawBufferPointer) {
        var mac = Self.key.base
        if let contentType { mac.update(data: Array(contentType.utf8)) }
        // The type and the body apart: no content type ending in the body's first bytes digests the same.
        mac.update(data: [0])
        mac.update(data: body)
        (a, b, c, d) = mac.finalize().withUnsafeBytes { bytes in
            func word(_ index: Int) -> UInt64 { bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) }
            return (word(0), word(1), word(2), word(3))
        }
    }

    /// The process's key, its schedule done once and copied for each digest.
    private static let key = ProcessMAC(HMAC<SHA256>(key: SymmetricKey(size: .bits256)))
}

/// An HMAC whose key schedule is done, copied for each message. swift-crypto does not declare `HMAC` `Sendable`; it
/// is a value (the inner hash state and the outer key) and this one is never mutated, only copied.
private struct ProcessMAC: @unchecked Sendable {
    let base: HMAC<SHA256>

    init(_ base: HMAC<SHA256>) { self.base = base }
}
