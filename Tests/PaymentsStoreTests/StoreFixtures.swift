import Foundation
import GRDB
import PaymentsCore
import PaymentsStore
import TestSupport

/// Records and raw SQL access for the store tests.
enum StoreFixtures {
    /// Random ids with Stripe's prefixes, so rows of one test never collide.
    static let ids = IDGenerator.secure

    /// A customer created at `created`.
    static func customer(created: Int64 = 1_000, email: String? = nil) -> Customer {
        Customer(
            id: ids.customer(),
            created: created,
            email: email,
            name: "Jenny Rosen",
            metadata: ["tier": "gold"]
        )
    }

    /// A card payment method for `card` (the store keeps whatever fingerprint it is given).
    static func paymentMethod(
        _ card: CardNumber,
        customer: String? = nil,
        created: Int64 = 1_000
    ) -> PaymentMethod {
        PaymentMethod(
            id: ids.paymentMethod(),
            created: created,
            customer: customer,
            brand: card.brand.rawValue,
            last4: card.last4,
            expMonth: 12,
            expYear: 2030,
            fingerprint: "fp_" + card.last4,
            funding: "credit",
            country: "US",
            cvcCheck: "unchecked",
            billingDetails: BillingDetails(name: "Jenny Rosen"),
            metadata: ["source": "test"]
        )
    }

    /// An intent of 20.00 USD created at `created`.
    static func intent(
        created: Int64 = 1_000,
        customer: String? = nil,
        paymentMethod: String? = nil,
        metadata: [String: String] = [:]
    ) -> PaymentIntent {
        let id = ids.paymentIntent()
        return PaymentIntent(
            id: id,
            created: created,
            amount: 2_000,
            currency: "usd",
            clientSecret: ids.clientSecret(for: id),
            customer: customer,
            paymentMethod: paymentMethod,
            metadata: metadata
        )
    }

    /// A pending charge for `intent`.
    static func charge(for intent: PaymentIntent, created: Int64 = 1_000) -> Charge {
        Charge(
            id: ids.charge(),
            created: created,
            paymentIntent: intent.id,
            paymentMethod: intent.paymentMethod,
            customer: intent.customer,
            amount: intent.amount,
            currency: intent.currency,
            capture: true,
            offSession: false,
            threeDSecure: nil
        )
    }

    /// A second, independent connection to the database file, for reading what is really stored.
    static func rawConnection(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}

extension StoreFixtures {
    /// A card "sealed" for the store's own tests: the store keeps the bytes it is given and never opens them, so
    /// these tests need no vault (the vault's own tests are in PaymentsTests).
    static func sealed(_ card: CardNumber) -> SealedCard {
        SealedCard(keyID: "vk_test", sealed: Data(String(card.digits.reversed()).utf8))
    }
}
