import Hummingbird

extension RenderOptions {
    /// The render options of a request: its API version, its key's scope and what it expands.
    init(request: Request, context: StripeRequestContext, services: HTTPServices, expand: [String] = []) {
        self.init(
            legacyStatusNames: RenderOptions.isLegacy(version: context.apiVersion),
            publishable: context.scope == .publishable,
            expand: Set(expand),
            baseURL: services.baseURL,
            apiVersion: RenderOptions.renderedVersion(of: context.apiVersion)
        )
    }
}
