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
        let text = ChallengeText.chosen(for: request)
        do {
            if SetupIntents.isSetupIntentID(id) {
                let setup = try await services.setupIntents.challenge(id, token: token)
                return Self.page(status: .ok, text: text, title: text.cardTitle, body: Self.challengeForm(setup, text))
            }
            let intent = try await services.intents.challenge(id, token: token)
            return Self.page(status: .ok, text: text, title: text.paymentTitle, body: Self.challengeForm(intent, text))
        } catch let error as PaymentError where error.status == 404 {
            return Self.expiredPage(text)
        } catch {
            return Self.failurePage(error, text: text, context: context)
        }
    }

    @Sendable func answer(_ request: Request, context: StripeRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let token = try context.parameters.require("token")
        let text = ChallengeText.chosen(for: request)
        var params = try await RequestParameters.read(request, context: context)
        let outcomeText = try params.rawString("outcome")
        guard let outcomeText, let outcome = PaymentIntents.AuthenticationOutcome(rawValue: outcomeText) else {
            return Self.page(
                status: .badRequest,
                text: text,
                title: text.unknownAnswer,
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
            return Self.expiredPage(text)
        } catch {
            return Self.failurePage(error, text: text, context: context)
        }
        let passed = outcome == .complete
        // payments.js's modal (`modal=1` in the page's URL, which its form posts to) waits for the page's message,
        // and its caller decides where the customer goes: the return_url's page shown inside the modal never told
        // it, and the card action never finished. A page opened on its own (a redirect) or framed by another client
        // goes to the return_url, as Stripe's does.
        let inModal = request.uri.queryParameters.get("modal") == "1"
        if let returnURL = answered.returnURL, !inModal {
            let location = ReturnURLRedirect.location(
                returnURL,
                adding: [
                    (answered.object, answered.id),
                    ("\(answered.object)_client_secret", answered.clientSecret),
                    ("redirect_status", passed ? answered.redirectStatus : "failed"),
                ]
            )
            return Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
        }
        let notDone = answered.object == "setup_intent" ? text.cardNotSaved : text.paymentNotMade
        // Authenticated, but the attempt after it failed (declined, the card detached meanwhile): the page says so,
        // as the redirect's `redirect_status=failed` does, rather than only that the authentication passed
        let message =
            switch (passed, answered.redirectStatus) {
            case (true, "failed"): "\(text.completeShort) \(notDone)"
            case (true, _): text.completeMessage
            case (false, _): "\(text.failedMessage) \(notDone)"
            }
        let script = """
            <script>window.parent && window.parent !== window && window.parent.postMessage(\
            {type: "payments-3ds-result", \(answered.object): "\(answered.id)", \
            outcome: "\(outcome.rawValue)"}, "*");</script>
            """
        // The title says the outcome too: "Authentication complete" above "The card was not saved." read as a success
        let title =
            switch (passed, answered.redirectStatus) {
            case (true, "failed"): answered.object == "setup_intent" ? text.cardNotSavedTitle : text.paymentNotMadeTitle
            case (true, _): text.completeTitle
            case (false, _): text.failedTitle
            }
        return Self.page(
            status: .ok,
            text: text,
            title: title,
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
        /// The redirect's `redirect_status` after a completed challenge: what the intent is now, which a return
        /// page reads to tell the customer. A request that came between the answer and the payment (a cancel, an
        /// update of the card or amount) leaves it `failed`, though the customer authenticated: no payment was made.
        let redirectStatus: String

        init(_ intent: PaymentIntent) {
            (object, id, clientSecret, returnURL) = ("payment_intent", intent.id, intent.clientSecret, intent.returnURL)
            redirectStatus =
                switch intent.status {
                case .succeeded, .requiresCapture: "succeeded"
                case .processing: "processing"
                // The seed's flow: authenticated, the merchant's server confirms next
                case .requiresConfirmation where intent.confirmationMethod == .manual: "succeeded"
                default: "failed"
                }
        }

        init(_ setup: SetupIntent) {
            (object, id, clientSecret, returnURL) = ("setup_intent", setup.id, setup.clientSecret, setup.returnURL)
            redirectStatus =
                switch setup.status {
                case .succeeded: "succeeded"
                case .processing: "processing"
                default: "failed"
                }
        }
    }

    // MARK: - HTML

    static func challengeForm(_ intent: PaymentIntent, _ text: ChallengeText = .english) -> String {
        let amount = Currency(code: intent.currency)?.formatted(intent.amount) ?? "\(intent.amount) \(intent.currency)"
        return challengeForm(
            question: text.paymentQuestion("<strong>\(escape(amount))</strong>"),
            text: text,
            object: "payment_intent",
            id: intent.id
        )
    }

    static func challengeForm(_ setup: SetupIntent, _ text: ChallengeText = .english) -> String {
        challengeForm(question: escape(text.cardQuestion), text: text, object: "setup_intent", id: setup.id)
    }

    /// The challenge: `question` (HTML) and the two answers, for the intent `id` (of kind `object`). The form posts
    /// to the page's own URL, so the answer's page keeps the language a `locale` in its query chose.
    static func challengeForm(question: String, text: ChallengeText, object: String, id: String) -> String {
        """
        <p class="note">\(escape(text.testModeNote))</p>
        <p>\(question)</p>
        <form method="post">
          <button type="submit" name="outcome" value="complete" id="complete">\(escape(text.complete))</button>
          <button type="submit" name="outcome" value="fail" id="fail" class="secondary">\(escape(text.fail))</button>
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
    static func expiredPage(_ text: ChallengeText = .english) -> Response {
        let over = """
            <script>window.parent && window.parent !== window && window.parent.postMessage(\
            {type: "payments-3ds-result", outcome: "expired"}, "*");</script>
            """
        return page(
            status: .notFound,
            text: text,
            title: text.expiredTitle,
            body: "<p>\(escape(text.expiredMessage))</p>\(over)"
        )
    }

    /// The page for a step the server could not finish (the database or the card network failed): a page, where the
    /// shopper saw the API's JSON error. Its status is the error's; it tells a modal of `payments.js` to read the
    /// intent's state afresh (as for a used link), which says where the payment stands. The error is logged as the
    /// API's are.
    static func failurePage(_ error: any Error, text: ChallengeText, context: StripeRequestContext) -> Response {
        let status: Int
        if let error = error as? PaymentError {
            ErrorAndRequestIDMiddleware.logServerError(error, context: context)
            status = error.status
        } else {
            context.logger.error("request failed", metadata: ["error": .string(String(describing: error))])
            status = 500
        }
        let over = """
            <script>window.parent && window.parent !== window && window.parent.postMessage(\
            {type: "payments-3ds-result", outcome: "expired"}, "*");</script>
            """
        return page(
            status: HTTPResponse.Status(code: status),
            text: text,
            title: text.failureTitle,
            body: "<p>\(escape(text.failureMessage))</p>\(over)"
        )
    }

    static func page(status: HTTPResponse.Status, text: ChallengeText, title: String, body: String) -> Response {
        let html = """
            <!doctype html>
            <html lang="\(text.language)"><head><meta charset="utf-8">
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
