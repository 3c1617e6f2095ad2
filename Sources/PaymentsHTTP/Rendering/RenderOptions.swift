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

    /// Creates options.
    public init(legacyStatusNames: Bool = false, publishable: Bool = false, expand: Set<String> = [], baseURL: String) {
        self.legacyStatusNames = legacyStatusNames
        self.publishable = publishable
        self.expand = expand
        self.baseURL = baseURL
    }

    /// The options for the objects inside a list: `data.x` expansions apply to each item.
    public var forListItems: RenderOptions {
        var copy = self
        copy.expand = Set(expand.compactMap { $0.hasPrefix("data.") ? String($0.dropFirst(5)) : nil })
        return copy
    }

    /// The options for an object expanded inside another (a charge's intent, an intent's latest charge): its own
    /// related objects are shown by id.
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
}
