import Foundation
import PackagePlugin

/// Builds `openapi/openapi.json` into the PaymentsHTTP module as a string constant, `openAPIDocument`, so that
/// `GET /openapi.json` serves it from the binary itself.
///
/// Why embedded rather than read at run time or shipped as a SwiftPM resource: the binary then serves the description
/// of exactly the routes it was built with, from the repository root, from any other working directory and from an
/// install that copied only the executable. A SwiftPM resource bundle must sit beside the executable (a copied install
/// without it makes `Bundle.module` stop the process), and a file read from the working directory can be missing or
/// stale. SwiftPM's own `.embedInCode` rule was tried: it spells the file as a byte-array literal, which took the
/// compiler minutes for this 300 KB file; a raw string literal compiles in a moment. The file stays the one source:
/// edit the JSON, and the next build embeds it.
@main
struct EmbedOpenAPI: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let input = context.package.directoryURL.appending(path: "openapi").appending(path: "openapi.json")
        let output = context.pluginWorkDirectoryURL.appending(path: "OpenAPIDocument.swift")
        // A raw multi-line literal (`##"""`): JSON's backslashes and quotes stay as they are, and the document never
        // contains the closing delimiter `"""##`. The literal drops the line break before its delimiter, the one
        // added here, so the string is the file byte for byte.
        let script = ###"""
            {
              printf '/// The contents of openapi/openapi.json, built in by the EmbedOpenAPI plugin.\n'
              printf 'let openAPIDocument = ##"""\n'
              cat "$1"
              printf '\n"""##\n'
            } > "$2"
            """###
        return [
            .buildCommand(
                displayName: "Embedding openapi/openapi.json",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", input.path, output.path],
                inputFiles: [input],
                outputFiles: [output]
            )
        ]
    }
}
