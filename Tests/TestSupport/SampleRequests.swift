/// Request bodies the limit tests share (router-level and end to end).
public enum SampleRequests {
    /// A valid `POST /v1/payment_intents` form body of exactly `bytes` bytes: the amount, the currency and
    /// metadata values of up to 500 characters (Stripe's limit) to fill it.
    public static func createBody(bytes: Int) -> String {
        var body = "amount=2000&currency=usd"
        var index = 0
        while body.utf8.count < bytes {
            let prefix = "&metadata[m\(index)]="
            let room = bytes - body.utf8.count - prefix.utf8.count
            body += prefix + String(repeating: "v", count: max(1, min(500, room)))
            index += 1
        }
        return body
    }
}
