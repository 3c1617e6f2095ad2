import HTTPTypes

/// The browser-facing security headers, by path.
///
/// - Every answer: `X-Content-Type-Options: nosniff`, so a browser never runs a JSON error or a static file as
///   another type than the one sent.
/// - The checkout (`/checkout/...`), which takes card numbers: no other site may frame it (`frame-ancestors 'none'`,
///   and `X-Frame-Options: DENY` for older browsers), so a page cannot overlay it to steer a shopper's clicks; and
///   its address is not sent to other sites (`Referrer-Policy: same-origin`).
/// - The 3-D Secure challenge page (`/3ds/...`) stays frameable, since a merchant's page may embed it, as the
///   checkout's own client does; its address, which holds the challenge's token, is never sent as a referrer,
///   not even to the `return_url` it redirects to (`Referrer-Policy: no-referrer`).
enum PageHeaders {
    /// Adds the headers for an answer to `path`.
    static func apply(to headers: inout HTTPFields, path: String) {
        headers[.xContentTypeOptions] = "nosniff"
        if path.hasPrefix("/checkout") {
            headers[.contentSecurityPolicy] = "frame-ancestors 'none'"
            headers[.xFrameOptions] = "DENY"
            headers[.referrerPolicy] = "same-origin"
        } else if path.hasPrefix("/3ds/") {
            headers[.referrerPolicy] = "no-referrer"
        }
    }
}

extension HTTPField.Name {
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
