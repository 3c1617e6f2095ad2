import Foundation
import Hummingbird

/// The 3-D Secure challenge page's words, in the languages the checkout speaks (English and Japanese).
///
/// The page is chosen by the `locale` in its URL's query (`en` or `ja`: `payments.js` adds the one its modal speaks
/// when it frames the page), else by the browser's `Accept-Language` (a shopper sent to the page by a merchant's own
/// redirect), else English.
struct ChallengeText: Sendable {
    /// The page's `lang`.
    let language: String
    let paymentTitle: String
    let cardTitle: String
    let testModeNote: String
    /// The payment's question, around its amount (HTML, already escaped).
    let paymentQuestion: @Sendable (String) -> String
    let cardQuestion: String
    let complete: String
    let fail: String
    let completeTitle: String
    let completeMessage: String
    /// The authentication's part of `completeMessage`, before the attempt's failure.
    let completeShort: String
    let failedTitle: String
    let failedMessage: String
    let paymentNotMade: String
    let cardNotSaved: String
    /// The title of a page whose authentication passed but whose attempt failed after it.
    let paymentNotMadeTitle: String
    let cardNotSavedTitle: String
    let expiredTitle: String
    let expiredMessage: String
    /// A page whose step the server could not finish (a database or card network failure).
    let failureTitle: String
    let failureMessage: String
    let unknownAnswer: String

    static let english = ChallengeText(
        language: "en",
        paymentTitle: "Authenticate this payment",
        cardTitle: "Authenticate this card",
        testModeNote: "Test mode: this page stands in for the card issuer's 3-D Secure check.",
        paymentQuestion: { amount in "Confirm the payment of \(amount)." },
        cardQuestion: "Confirm that this card may be saved for later payments. Nothing is charged now.",
        complete: "Complete",
        fail: "Fail",
        completeTitle: "Authentication complete",
        completeMessage: "Authentication complete. You can close this window and return to the merchant.",
        completeShort: "Authentication complete.",
        failedTitle: "Authentication failed",
        failedMessage: "Authentication failed.",
        paymentNotMade: "The payment was not made.",
        cardNotSaved: "The card was not saved.",
        paymentNotMadeTitle: "Payment not made",
        cardNotSavedTitle: "Card not saved",
        expiredTitle: "Link no longer valid",
        expiredMessage: "This authentication link has been used or has expired.",
        failureTitle: "Something went wrong",
        failureMessage: "This step could not be finished. Close this window and return to the merchant, who can see "
            + "where the payment stands.",
        unknownAnswer: "Unknown answer"
    )

    static let japanese = ChallengeText(
        language: "ja",
        paymentTitle: "お支払いの認証",
        cardTitle: "カードの認証",
        testModeNote: "テストモード：このページはカード発行会社の 3-D セキュア認証の代わりです。",
        paymentQuestion: { amount in "\(amount) のお支払いを承認してください。" },
        cardQuestion: "このカードを今後のお支払いのために保存することを承認してください。今回は請求されません。",
        complete: "承認する",
        fail: "失敗させる",
        completeTitle: "認証が完了しました",
        completeMessage: "認証が完了しました。このウィンドウを閉じて、お店のページにお戻りください。",
        completeShort: "認証が完了しました。",
        failedTitle: "認証に失敗しました",
        failedMessage: "認証に失敗しました。",
        paymentNotMade: "お支払いは行われていません。",
        cardNotSaved: "カードは保存されていません。",
        paymentNotMadeTitle: "お支払いは行われていません",
        cardNotSavedTitle: "カードは保存されていません",
        expiredTitle: "このリンクは無効です",
        expiredMessage: "この認証リンクは使用済みか、有効期限が切れています。",
        failureTitle: "問題が発生しました",
        failureMessage: "この手続きを完了できませんでした。このウィンドウを閉じて、お店のページにお戻りください。"
            + "お支払いの状況はお店で確認できます。",
        unknownAnswer: "不明な回答"
    )

    /// The words for `request`: its `locale` query item, else its `Accept-Language`, else English.
    static func chosen(for request: Request) -> ChallengeText {
        if let locale = request.uri.queryParameters.get("locale") {
            return named(locale) ?? .english
        }
        return preferred(acceptLanguage: request.headers[.acceptLanguage]) ?? .english
    }

    /// English or Japanese for a language tag (`ja`, `ja-JP`, `en-GB`), else nil.
    static func named(_ tag: some StringProtocol) -> ChallengeText? {
        switch tag.split(separator: "-").first?.lowercased() {
        case "ja": .japanese
        case "en": .english
        default: nil
        }
    }

    /// The first language of `header` (`ja,en-US;q=0.9`) this page speaks, by the weights it gives them; a weight of
    /// 0 refuses a language.
    static func preferred(acceptLanguage header: String?) -> ChallengeText? {
        guard let header else { return nil }
        let ranked = header.split(separator: ",").enumerated().compactMap {
            index,
            item -> (text: ChallengeText, weight: Double, index: Int)? in
            let parts = item.split(separator: ";")
            guard let tag = parts.first?.trimmingCharacters(in: .whitespaces), let text = named(tag) else {
                return nil
            }
            var weight = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0] == "q", let value = Double(pair[1]) { weight = value }
            }
            return weight > 0 ? (text, weight, index) : nil
        }
        return ranked.min { ($0.weight, -$0.index) > ($1.weight, -$1.index) }?.text
    }
}
