import Hummingbird

/// `GET /checkout/config.json`: what the checkout page needs from the server — the publishable key and the
/// catalogue's items with their prices. Nothing secret.
enum CheckoutConfig {
    static func response(services: HTTPServices) -> Response {
        let items: [JSONValue] = services.catalog.items.map { item in
            .object([
                ("id", .string(item.id)),
                ("name", .string(item.name)),
                ("amount", .int(item.amount)),
                ("currency", .string(item.currency)),
            ])
        }
        return JSONResponse.json(
            .object([
                ("publishable_key", .string(services.keys.publishable)),
                ("default_item", .string(services.catalog.defaultItem)),
                ("items", .array(items)),
            ])
        )
    }
}
