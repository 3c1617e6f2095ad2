import Payments

/// How a response renders: the API version's names, what a publishable key may see, what to expand.
public struct RenderOptions: Sendable {
    /// Render `requires_source`/`requires_source_action` (API versions before 2019-02-11).
    public var legacyStatusNames: Bool
    /// The request used a publishable key: show only what Stripe shows to one.
    public var publishable: Bool
    /// Expanded fields (`payment_method`, `customer`, `latest_charge`; `data.` prefixes stripped for lists).
    public var expand: Set<String>
    /// The server's public base URL, for the 3-D Secure challenge address.
    public var baseURL: String
    /// The API version the response renders in, as the request's `Stripe-Version` named it (``renderedVersion(of:)``):
    /// an event's `api_version`. Nil when the request named none.
    public var apiVersion: String?

    /// Creates options.
    public init(
        legacyStatusNames: Bool = false,
        publishable: Bool = false,
        expand: Set<String> = [],
        baseURL: String,
        apiVersion: String? = nil
    ) {
        self.legacyStatusNames = legacyStatusNames
        self.publishable = publishable
        self.expand = expand
        self.baseURL = baseURL
        self.apiVersion = apiVersion
    }

    /// The options for the objects inside a list: `data.x` expansions apply to each item (and an old API version's
    /// intents keep their `charges`).
    public var forListItems: RenderOptions {
        var copy = self
        copy.expand = Set(expand.compactMap { $0.hasPrefix("data.") ? String($0.dropFirst(5)) : nil })
        if expand.contains(Lookup.legacyCharges) { copy.expand.insert(Lookup.legacyCharges) }
        return copy
    }

    /// The options for an object expanded inside another (a charge's intent, an intent's latest charge): its own
    /// related objects are shown by id, and an intent there has no `charges` list.
    public var forNestedObjects: RenderOptions {
        var copy = self
        copy.expand = []
        return copy
    }

    /// The first API version with today's PaymentIntent status names.
    public static let statusRenameVersion = "2019-02-11"

    /// Whether a `Stripe-Version` header (e.g. `2026-06-24.dahlia` or `2018-05-21`) predates the rename.
    public static func isLegacy(version: String?) -> Bool {
        guard let version, version.count >= 10 else { return false }
        return String(version.prefix(10)) < statusRenameVersion
    }

    /// The options for an event's snapshot of an object: an intent there has no `charges` list (the snapshot keeps
    /// the intent alone, not its charges as they stood then).
    public var forSnapshots: RenderOptions {
        var copy = self
        copy.expand.remove(Lookup.legacyCharges)
        return copy
    }

    /// The first API version without the PaymentIntent's `charges` list (`latest_charge` instead).
    public static let chargesRemovalVersion = "2022-11-15"

    /// Whether a `Stripe-Version` header predates 2022-11-15, whose PaymentIntents show their `charges` list.
    public static func showsChargesList(version: String?) -> Bool {
        guard let version = renderedVersion(of: version) else { return false }
        return String(version.prefix(10)) < chargesRemovalVersion
    }

    /// The version a response to a request with `version` as its `Stripe-Version` renders in: the header as sent
    /// when it starts with a date (`2026-06-24.dahlia`, `2018-05-21`), nil otherwise.
    ///
    /// Every version is accepted and only its date decides a shape, so the version a client names is the one its
    /// response was rendered in; an event says it in `api_version`, where clients that check it against the version
    /// they pinned (Stripe's .NET library refuses an event whose version is not its own) find their own. A header that
    /// names no date names no version, and an event read with it, or with none, has `api_version: null`.
    public static func renderedVersion(of version: String?) -> String? {
        guard let version, version.utf8.count <= 64 else { return nil }
        let date = Array(version.utf8.prefix(10))
        guard date.count == 10 else { return nil }
        for (index, byte) in date.enumerated() {
            let expected =
                index == 4 || index == 7
                ? byte == UInt8(ascii: "-") : (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            guard expected else { return nil }
        }
        return version
    }
}
