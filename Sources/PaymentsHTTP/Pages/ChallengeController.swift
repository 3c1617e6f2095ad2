import Foundation
import Hummingbird
import NIOCore
import Payments
import PaymentsCore

/// The test-mode stand-in for the issuer's 3-D Secure challenge page, at a PaymentIntent's or a SetupIntent's
/// `next_action` URL (the id's prefix says which).
///
/// `GET` shows the payment (or the card being saved) with "Complete" and "Fail" buttons; `POST
/// outcome=complete|fail` records the answer (the intent has changed before the response is sent), then redirects
/// to the intent's `return_url` with 303, or shows the outcome. The page also tells an embedding frame the result
/// with `postMessage`, which the checkout's JavaScript client listens for. No API key: the secret token in the URL
/// is the credential.
struct ChallengeController {
    let services: HTTPServices

    var endpoints: RouteCollection<StripeRequestContext> {
        let routes = RouteCollection(context: StripeRequestContext.self)
        routes.get(":id/:token", use: show)
        routes.post(":id/:token", use: answer)
        return routes
    }

    @Sendable func show(_ request: Request, context: StripeRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let token = try context.parameters.require("token")
        do {
            if SetupIntents.isSetupIntentID(id) {
                let setup = try await services.setupIntents.challenge(id, token: token)
                return Self.page(status: .ok, title: "Authenticate this card", body: Self.challengeForm(setup))
            }
            let intent = try await services.intents.challenge(id, token: token)
            return Self.page(status: .ok, title: "Authenticate this payment", body: Self.challengeForm(intent))
        } catch let error as PaymentError where error.status == 404 {
            return Self.expiredPage()
        }
    }

    @Sendable func answer(_ request: Request, context: StripeRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let token = try context.parameters.require("token")
        var params = try await RequestParameters.read(request, context: context)
        let outcomeText = try params.rawString("outcome")
        guard let outcomeText, let outcome = PaymentIntents.AuthenticationOutcome(rawValue: outcomeText) else {
            return Self.page(
                status: .badRequest,
                title: "Unknown answer",
                body: "<p>Send <code>outcome=complete</code> or <code>outcome=fail</code>.</p>"
            )
        }
        let answered: Answered
        do {
            if SetupIntents.isSetupIntentID(id) {
                answered = Answered(try await services.setupIntents.authenticate(id, token: token, outcome: outcome))
            } else {
                answered = Answered(
                    try await services.intents.logging(to: context.logger).authenticate(
                        id,
                        token: token,
                        outcome: outcome
                    )
                )
            }
        } catch let error as PaymentError where error.status == 404 {
            return Self.expiredPage()
        }
        let passed = outcome == .complete
        if let returnURL = answered.returnURL, var components = URLComponents(string: returnURL) {
            var query = components.queryItems ?? []
            query.append(URLQueryItem(name: answered.object, value: answered.id))
            query.append(URLQueryItem(name: "\(answered.object)_client_secret", value: answered.clientSecret))
            query.append(URLQueryItem(name: "redirect_status", value: passed ? "succeeded" : "failed"))
            components.queryItems = query
            if let location = components.string {
                return Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
            }
        }
        let message =
            passed
            ? "Authentication complete. You can close this window and return to the merchant."
            : "Authentication failed. \(answered.notDone)"
        let script = """
            <script>window.parent && window.parent !== window && window.parent.postMessage(\
            {type: "payments-3ds-result", \(answered.object): "\(answered.id)", \
            outcome: "\(outcome.rawValue)"}, "*");</script>
            """
        return Self.page(
            status: .ok,
            title: passed ? "Authentication complete" : "Authentication failed",
            body: "<p id=\"outcome\" data-outcome=\"\(outcome.rawValue)\">\(message)</p>\(script)"
        )
    }

    /// What the answer changed, as the redirect and the framing page name it.
    struct Answered {
        /// `payment_intent` or `setup_intent`: the name of the id in the redirect's query and in the message.
        let object: String
        let id: String
        let clientSecret: String
        let returnURL: String?
        /// What a failed authentication left undone, for the outcome page.
        var notDone: String { object == "setup_intent" ? "The card was not saved." : "The payment was not made." }

        init(_ intent: PaymentIntent) {
            (object, id, clientSecret, returnURL) = ("payment_intent", intent.id, intent.clientSecret, intent.returnURL)
        }

        init(_ setup: SetupIntent) {
            (object, id, clientSecret, returnURL) = ("setup_intent", setup.id, setup.clientSecret, setup.returnURL)
        }
    }

    // MARK: - HTML

    static func challengeForm(_ intent: PaymentIntent) -> String {
        let amount = Currency(code: intent.currency)?.formatted(intent.amount) ?? "\(intent.amount) \(intent.currency)"
        return challengeForm(
            question: "Confirm the payment of <strong>\(escape(amount))</strong>.",
            object: "payment_intent",
            id: intent.id
        )
    }

    static func challengeForm(_ setup: SetupIntent) -> String {
        challengeForm(
            question: "Confirm that this card may be saved for later payments. Nothing is charged now.",
            object: "setup_intent",
            id: setup.id
        )
    }

    /// The challenge: `question` (HTML) and the two answers, for the intent `id` (of kind `object`).
    static func challengeForm(question: String, object: String, id: String) -> String {
        """
        <p class="note">Test mode: this page stands in for the card issuer's 3-D Secure check.</p>
        <p>\(question)</p>
        <form method="post">
          <button type="submit" name="outcome" value="complete" id="complete">Complete</button>
          <button type="submit" name="outcome" value="fail" id="fail" class="secondary">Fail</button>
        </form>
        \(cancelScript(object: object, id: id))
        """
    }

    /// When framed (the checkout's modal), Escape pressed inside the frame asks the parent to close it, as
    /// Escape does outside the frame; the parent treats it as a failed authentication.
    /// - Parameters:
    ///   - object: `payment_intent` or `setup_intent`, the name the message gives the id.
    ///   - id: the intent's id, or nil on a page that no longer belongs to one.
    static func cancelScript(object: String = "payment_intent", id: String?) -> String {
        let named = id.map { ", \(object): \"\(escape($0))\"" } ?? ""
        return """
            <script>window.parent && window.parent !== window && document.addEventListener("keydown", \
            function (event) { if (event.key === "Escape") { window.parent.postMessage(\
            {type: "payments-3ds-cancel"\(named)}, "*"); } });</script>
            """
    }

    /// The page of a link that was used or expired. When framed (the checkout's modal), it tells the parent at once
    /// that this challenge is over (`outcome: "expired"`, which clients that know only complete and fail take as a
    /// failure), so the modal closes and the page reads the intent's state, instead of leaving the shopper on a page
    /// that nothing closes but its ×.
    static func expiredPage() -> Response {
        let over = """
            <script>window.parent && window.parent !== window && window.parent.postMessage(\
            {type: "payments-3ds-result", outcome: "expired"}, "*");</script>
            """
        return page(
            status: .notFound,
            title: "Link no longer valid",
            body: "<p>This authentication link has been used or has expired.</p>\(over)"
        )
    }

    static func page(status: HTTPResponse.Status, title: String, body: String) -> Response {
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <style>
              body { font: 16px/1.5 system-ui, sans-serif; max-width: 28rem; margin: 2rem auto; padding: 0 1rem; }
              h1 { font-size: 1.5rem; line-height: 1.25; }
              .note { color: #555; font-size: .9rem; }
              button { font: inherit; padding: .6rem 1.2rem; margin-right: .5rem; border-radius: 6px;
                       border: 1px solid #635bff; background: #635bff; color: #fff; cursor: pointer; }
              button.secondary { background: #fff; color: #635bff; }
            </style></head>
            <body><h1>\(escape(title))</h1>
            \(body)
            </body></html>
            """
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
