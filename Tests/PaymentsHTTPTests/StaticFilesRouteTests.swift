import Foundation
import HTTPTypes
import Hummingbird
import TestSupport
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
            "//js/payments.js", "/js/payments.js%00.html", "/checkout/index.html%00.txt", "/checkout/index.html%00",
            "/checkout%00/", "/js%00", "/checkout/index.html%0a", "/checkout/index.html%7F",
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

    @Test(
        "Static files have the page-security headers and their charset; /checkout redirects to /checkout/ on this host"
    )
    func canonicalPaths() async throws {
        try await FuzzFindingsRouteTests.withStaticFiles { wire in
            for (path, type) in [
                ("/checkout/", "text/html; charset=utf-8"), ("/checkout/index.html", "text/html; charset=utf-8"),
                ("/checkout/checkout.css", "text/css; charset=utf-8"), ("/js/payments.js", "javascript; charset=utf-8"),
            ] {
                let answer = try await wire.get(path, auth: nil)
                #expect(answer.status == 200, "\(path)")
                #expect(answer.header("Content-Type")?.contains(type) == true, "\(path): \(answer.headers)")
                let policy = answer.header("Content-Security-Policy") ?? ""
                #expect(policy.contains("frame-ancestors 'none'") && policy.contains("script-src 'self';"), "\(path)")
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
        "A range past the end of a file is a 416 saying the size; others are served or ignored, never a negative length"
    )
    func ranges() async throws {
        let path = TestPaths.root.appendingPathComponent("Public/checkout/checkout.css").path
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        try await FuzzFindingsRouteTests.withStaticFiles { wire in
            func get(_ range: String, method: HTTPRequest.Method = .get) async throws -> WireResponse {
                try await wire.send(
                    method,
                    "/checkout/checkout.css",
                    auth: nil,
                    headers: [.range: range]
                )
            }
            // Starting at or past the end (a position too large for an Int too): 416 with the file's size
            for range in [
                "bytes=100000-", "bytes=\(size)-", "bytes=\(size)-\(size + 10)", "bytes=9223372036854775807-",
                "bytes=99999999999999999999-", "BYTES=100000-",
            ] {
                let answer = try await get(range)
                #expect(answer.status == 416, "\(range): \(answer.status) \(answer.headers)")
                #expect(answer.header("Content-Range") == "bytes */\(size)", "\(range)")
                #expect(answer.error["type"]?.string == "invalid_request_error", "\(range)")
                #expect(Int(answer.header("Content-Length") ?? "0") ?? -1 >= 0, "\(range): \(answer.headers)")
            }
            // Within the file: the bytes asked for
            let start = try await get("bytes=0-9")
            #expect(start.status == 206)
            #expect(start.header("Content-Range") == "bytes 0-9/\(size)")
            #expect(start.header("Content-Length") == "10")
            #expect(start.text.utf8.count == 10)
            let last = try await get("bytes=\(size - 1)-")
            #expect(last.status == 206)
            #expect(last.header("Content-Length") == "1")
            // Forms the server ignores (a suffix, several ranges, a last before the first, another unit), and a range
            // on HEAD: the whole file
            for (range, method) in [
                ("bytes=-5", HTTPRequest.Method.get), ("bytes=0-1,5-6", .get), ("bytes=5-3", .get), ("items=0-1", .get),
                ("bytes=100000-", .head), ("bytes=0-9", .head),
            ] {
                let answer = try await get(range, method: method)
                #expect(answer.status == 200, "\(method) \(range): \(answer.status)")
                #expect(answer.header("Content-Length") == String(size), "\(method) \(range): \(answer.headers)")
                #expect(answer.header("Content-Range") == nil, "\(method) \(range)")
            }
        }
    }

    @Test(
        "Canonical paths: empty, dot and needlessly escaped segments are not",
        arguments: [
            ("/", true), ("/checkout/", true), ("/checkout/index.html", true), ("/a%20b", true), ("/caf%C3%A9", true),
            ("/50%", true), ("/checkout/%zz", true), ("", false), ("//", false), ("/a//b", false), ("/./a", false),
            ("/a/..", false), ("/%2e/a", false), ("/%41", false), ("/a%2Fb", false), ("/a%7e", false),
            ("/a%00", false), ("/a%1F", false), ("/a%7f", false),
        ]
    )
    func canonical(path: String, canonical: Bool) {
        #expect(StaticFilesMiddleware.isCanonical(path) == canonical, "\(path)")
    }
}
