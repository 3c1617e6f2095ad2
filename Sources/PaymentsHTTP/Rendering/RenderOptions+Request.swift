import Hummingbird
import Payments

extension RenderOptions {
    /// The render options of a request: its API version, its key's scope and what it expands (with, for versions
    /// before 2022-11-15 and a secret key, the intents' `charges` list: ``Lookup/legacyCharges``).
    init(request: Request, context: StripeRequestContext, services: HTTPServices, expand: [String] = []) {
        var expanded = Set(expand)
        // Not for a publishable key, which is not shown the list (``StripeRenderer/publishableIntentFields``)
        if context.scope != .publishable, RenderOptions.showsChargesList(version: context.apiVersion) {
            expanded.insert(Lookup.legacyCharges)
        }
        self.init(
            legacyStatusNames: RenderOptions.isLegacy(version: context.apiVersion),
            publishable: context.scope == .publishable,
            expand: expanded,
            baseURL: services.baseURL,
            apiVersion: RenderOptions.renderedVersion(of: context.apiVersion)
        )
    }
}
