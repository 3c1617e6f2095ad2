import Foundation
import Hummingbird
import NIOCore
import Payments
import PaymentsCore

/// The test-mode stand-in for the issuer's 3-D Secure challenge page, at an intent's `next_action` URL.
///
/// `GET` shows the payment with "Complete" and "Fail" buttons; `POST outcome=complete|fail` records the answer
/// (the intent has changed before the response is sent), then redirects to the intent's `return_url` with 303,
/// or shows the outcome. The page also tells an embedding frame the result with `postMessage`, which the
/// checkout's JavaScript client listens for. No API key: the secret token in the URL is the credential.
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
        let intent: PaymentIntent
        do {
            intent = try await services.intents.authenticate(id, token: token, outcome: outcome)
        } catch let error as PaymentError where error.status == 404 {
            return Self.expiredPage()
        }
        let passed = outcome == .complete
        if let returnURL = intent.returnURL, var components = URLComponents(string: returnURL) {
            var query = components.queryItems ?? []
            query.append(URLQueryItem(name: "payment_intent", value: intent.id))
            query.append(URLQueryItem(name: "payment_intent_client_secret", value: intent.clientSecret))
            query.append(URLQueryItem(name: "redirect_status", value: passed ? "succeeded" : "failed"))
            components.queryItems = query
            if let location = components.string {
                return Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
            }
        }
        let message =
            passed
            ? "Authentication complete. You can close this window and return to the merchant."
            : "Authentication failed. The payment was not made."
        let script = """
            <script>window.parent && window.parent !== window && window.parent.postMessage(\
            {type: "payments-3ds-result", payment_intent: "\(intent.id)", outcome: "\(outcome.rawValue)"}, "*");</script>
            """
        return Self.page(
            status: .ok,
            title: passed ? "Authentication complete" : "Authentication failed",
            body: "<p id=\"outcome\" data-outcome=\"\(outcome.rawValue)\">\(message)</p>\(script)"
        )
    }

    // MARK: - HTML

    static func challengeForm(_ intent: PaymentIntent) -> String {
        let amount = Currency(code: intent.currency)?.formatted(intent.amount) ?? "\(intent.amount) \(intent.currency)"
        return """
            <p class="note">Test mode: this page stands in for the card issuer's 3-D Secure check.</p>
            <p>Confirm the payment of <strong>\(escape(amount))</strong>.</p>
            <form method="post">
              <button type="submit" name="outcome" value="complete" id="complete">Complete</button>
              <button type="submit" name="outcome" value="fail" id="fail" class="secondary">Fail</button>
            </form>
            \(cancelScript(intentID: intent.id))
            """
    }

    /// When framed (the checkout's modal), Escape pressed inside the frame asks the parent to close it, as
    /// Escape does outside the frame; the parent treats it as a failed authentication.
    static func cancelScript(intentID: String?) -> String {
        let id = intentID.map { ", payment_intent: \"\(escape($0))\"" } ?? ""
        return """
            <script>window.parent && window.parent !== window && document.addEventListener("keydown", \
            function (event) { if (event.key === "Escape") { window.parent.postMessage(\
            {type: "payments-3ds-cancel"\(id)}, "*"); } });</script>
            """
    }

    static func expiredPage() -> Response {
        page(
            status: .notFound,
            title: "Link no longer valid",
            body: "<p>This authentication link has been used or has expired.</p>\(cancelScript(intentID: nil))"
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
