import HTTPTypes

/// The browser-facing security headers, by what answered.
///
/// - Every answer: `X-Content-Type-Options: nosniff`, so a browser never runs a JSON error or a static file as
///   another type than the one sent.
/// - The static files (the checkout page, which takes card numbers, its script and styles, `payments.js`) and the
///   checkout's routes: no other site may frame them (``checkoutPolicy``'s `frame-ancestors 'none'`, and
///   `X-Frame-Options: DENY` for older browsers), so a page cannot overlay the checkout to steer a shopper's clicks;
///   and their address is not sent to other sites (`Referrer-Policy: same-origin`). Decided by what served the answer
///   as well as by the path, so a path the router or the file server resolves to the checkout in another spelling
///   gets them too.
/// - A static text file (the page, its script and styles) says its charset, UTF-8 as the files are written: a
///   browser that guesses another for a page without a `<meta charset>` it reached first garbles what it shows.
/// - The 3-D Secure challenge page (`/3ds/...`) stays frameable, since a merchant's page may embed it, as the
///   checkout's own client does; its address, which holds the challenge's token, is never sent as a referrer,
///   not even to the `return_url` it redirects to (`Referrer-Policy: no-referrer`).
enum PageHeaders {
    /// What `FileMiddleware` names as the endpoint of an answer it served from a file.
    static let staticFileEndpoint = "FileMiddleware"

    /// The checkout's content security policy: besides `frame-ancestors 'none'`, the page that takes card numbers
    /// runs scripts from this server only (no inline script, no `eval`), talks to it only, frames only its 3-D Secure
    /// page, and posts forms nowhere else, so markup that reached the page (a product's name, say) could neither run
    /// nor send the card's fields away. Styles may be inline: payments.js adds its modal's `<style>` element, which
    /// carries no data out.
    static let checkoutPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        + "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        + "frame-ancestors 'none'"

    /// Adds the headers for an answer to `path`, served by `endpoint` (the route the router matched, as
    /// `RequestContext.endpointPath` names it, or ``staticFileEndpoint``; nil or `NotFound` when none).
    static func apply(to headers: inout HTTPFields, path: String, endpoint: String?) {
        headers[.xContentTypeOptions] = "nosniff"
        if endpoint == staticFileEndpoint, let type = headers[.contentType], type.hasPrefix("text/"),
            !type.contains(";")
        {
            headers[.contentType] = type + "; charset=utf-8"
        }
        if path.hasPrefix("/3ds/") || endpoint?.hasPrefix("/3ds/") == true {
            headers[.referrerPolicy] = "no-referrer"
        } else if endpoint == staticFileEndpoint || path.hasPrefix("/checkout")
            || endpoint?.hasPrefix("/checkout") == true
        {
            headers[.contentSecurityPolicy] = checkoutPolicy
            headers[.xFrameOptions] = "DENY"
            headers[.referrerPolicy] = "same-origin"
        }
    }
}

extension HTTPField.Name {
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
