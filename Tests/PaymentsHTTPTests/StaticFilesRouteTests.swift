import Foundation
import HTTPTypes
import Hummingbird
import Testing

@testable import PaymentsHTTP

/// The checkout's static files, served from `Public/` as by `payments serve`: at their canonical paths only, and
/// always with the page-security headers.
@Suite("Static files")
struct StaticFilesRouteTests {
    @Test(
        "A path spelled another way than the file's own is no file's: 404, never a page without its headers",
        arguments: [
            "//checkout/", "/./checkout/", "/%63heckout/", "/checkout//", "/checkout/./", "/checkout/../checkout/",
            "/checkout/%69ndex.html", "/checkout%2Findex.html", "/checkout/index.html/", "//checkout",
            "//js/payments.js",
        ]
    )
    func nonCanonicalPaths(path: String) async throws {
        try await FuzzFindingsRouteTests.withStaticFiles { wire in
            // When a file is asked for under another spelling of its path
            let answer = try await wire.get(path, auth: nil)
            // Then no file and no redirect: the 404 every unknown path gets
            #expect(answer.status == 404, "\(path): \(answer.status) \(answer.headers)")
            #expect(answer.header("Location") == nil, "\(path)")
            #expect(answer.error["type"]?.string == "invalid_request_error", "\(path)")
        }
    }

    @Test("Every static file carries the page-security headers; /checkout redirects to /checkout/ on this host")
    func canonicalPaths() async throws {
        try await FuzzFindingsRouteTests.withStaticFiles { wire in
            for (path, type) in [
                ("/checkout/", "text/html"), ("/checkout/index.html", "text/html"),
                ("/checkout/checkout.css", "text/css"), ("/js/payments.js", "javascript"),
            ] {
                let answer = try await wire.get(path, auth: nil)
                #expect(answer.status == 200, "\(path)")
                #expect(answer.header("Content-Type")?.contains(type) == true, "\(path): \(answer.headers)")
                #expect(answer.header("Content-Security-Policy") == "frame-ancestors 'none'", "\(path)")
                #expect(answer.header("X-Frame-Options") == "DENY", "\(path)")
                #expect(answer.header("Referrer-Policy") == "same-origin", "\(path)")
                #expect(answer.header("X-Content-Type-Options") == "nosniff", "\(path)")
            }
            let folder = try await wire.get("/checkout", auth: nil)
            #expect(folder.status == 301)
            #expect(folder.header("Location") == "/checkout/")
        }
    }

    @Test(
        "Canonical paths: empty, dot and needlessly escaped segments are not",
        arguments: [
            ("/", true), ("/checkout/", true), ("/checkout/index.html", true), ("/a%20b", true), ("/caf%C3%A9", true),
            ("/50%", true), ("/checkout/%zz", true), ("", false), ("//", false), ("/a//b", false), ("/./a", false),
            ("/a/..", false), ("/%2e/a", false), ("/%41", false), ("/a%2Fb", false), ("/a%7e", false),
        ]
    )
    func canonical(path: String, canonical: Bool) {
        #expect(StaticFilesMiddleware.isCanonical(path) == canonical, "\(path)")
    }
}
