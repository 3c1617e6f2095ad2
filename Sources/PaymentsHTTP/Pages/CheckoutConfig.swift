import Hummingbird
import PaymentsCore

/// `GET /checkout/config.json`: what the checkout page needs from the server — the publishable key, the
/// catalogue's items with their prices, and how many of an amount's digits are fractional in each currency. Nothing
/// secret.
///
/// The digits are the service's (Stripe's) rule, not the browser's: `Intl` says HUF, IDR, ISK, UGX, COP and eight
/// more have none, where Stripe takes their amounts with two, so the page showed a HUF 200.00 item as "HUF 20,000"
/// (a probe of currencies; 14 currencies in Chromium and Node).
enum CheckoutConfig {
    /// Every currency's fractional digits, by code: the same for every page, made once.
    static let minorUnitDigits: JSONValue = .object(
        Currency.allSupported.map { ($0.code, JSONValue.int(Int64($0.minorUnitDigits))) }
    )

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
                ("minor_unit_digits", minorUnitDigits),
            ])
        )
    }
}
