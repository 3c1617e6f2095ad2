import Foundation
import Testing

/// Stripe's test cards from the seed, and the steps of its client.
enum SeedCard {
    /// Succeeds at once.
    static let succeeds = "4242424242424242"
    /// Needs 3-D Secure authentication on-session.
    static let needsAuthentication = "4000002500003155"
    /// Declines with `insufficient_funds`.
    static let insufficientFunds = "4000000000009995"
}

extension ServerProcess {
    /// The client side of the seed: a PaymentMethod from card details, created with the publishable key (what
    /// Stripe.js does with the Card Element).
    func createPaymentMethod(card number: String) async throws -> String {
        let answer = try await client.postForm(
            "/v1/payment_methods",
            [
                ("type", "card"),
                ("card[number]", number),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2034"),
                ("card[cvc]", "123"),
            ],
            auth: publishable
        )
        try #require(answer.status == 200, "create payment method: \(answer)")
        let id = try #require(try answer.json()["id"]?.string, "no id: \(answer)")
        try #require(id.hasPrefix("pm_"), "payment method id \(id)")
        return id
    }

    /// A PaymentIntent read with the secret key.
    func paymentIntent(_ id: String) async throws -> JSON {
        let answer = try await client.get("/v1/payment_intents/\(id)", auth: secret)
        try #require(answer.status == 200, "retrieve \(id): \(answer)")
        return try answer.json()
    }

    /// The challenge page at `url`: checks it is served as the issuer's page with both buttons, then answers it.
    /// - Returns: the answer to the POST.
    func answerChallenge(at url: String, outcome: String) async throws -> HTTPAnswer {
        let page = try await client.get(url)
        #expect(page.status == 200, "challenge page: \(page)")
        #expect(page.header("Content-Type")?.hasPrefix("text/html") == true, "\(page.headers)")
        #expect(page.text.contains("Complete"), "\(page.text)")
        #expect(page.text.contains("Fail"), "\(page.text)")
        #expect(page.text.contains("name=\"outcome\""), "\(page.text)")
        return try await client.postForm(url, [("outcome", outcome)])
    }

    /// `next_action.redirect_to_url.url` of a `requires_action` intent, checked to be on this server.
    func challengeURL(of intent: JSON) throws -> String {
        #expect(intent["next_action"]?["type"]?.string == "redirect_to_url", "\(intent)")
        let url = try #require(intent["next_action"]?["redirect_to_url"]?["url"]?.string, "\(intent)")
        #expect(url.hasPrefix(baseURL.absoluteString + "/3ds/"), "challenge URL \(url) is not on \(baseURL)")
        return url
    }
}
