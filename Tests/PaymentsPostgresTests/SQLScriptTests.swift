import Foundation
import PaymentsPostgres
import TestSupport
import Testing

/// Cutting a migration file into statements: pure, no server.
@Suite("SQL script statements")
struct SQLScriptTests {
    @Test("statements are cut at each top-level semicolon, with the line each starts on")
    func simple() {
        let script = SQLScript("CREATE TABLE a (x BIGINT);\n\nCREATE TABLE b (y BIGINT);\nDROP TABLE a")
        #expect(
            script.statements == [
                .init(sql: "CREATE TABLE a (x BIGINT)", line: 1),
                .init(sql: "CREATE TABLE b (y BIGINT)", line: 3),
                .init(sql: "DROP TABLE a", line: 4),
            ]
        )
    }

    @Test("semicolons in quoted text, names, dollar-quoted bodies and comments do not cut")
    func quoted() {
        let sql = """
            -- a comment; with a semicolon
            INSERT INTO t VALUES ('a;b', 'it''s; fine', E'back\\'slash;');
            SELECT "odd;name" FROM t; /* block; /* nested; */ still; */
            CREATE FUNCTION f() RETURNS INT LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$;
            CREATE FUNCTION g() RETURNS INT LANGUAGE plpgsql AS $body$ BEGIN RETURN $1; END; $body$;
            SELECT $1;
            """
        let statements = SQLScript(sql).statements
        #expect(statements.count == 5)
        #expect(statements.map(\.line) == [2, 3, 4, 5, 6])
        #expect(statements[0].sql == "INSERT INTO t VALUES ('a;b', 'it''s; fine', E'back\\'slash;')")
        #expect(statements[1].sql == "SELECT \"odd;name\" FROM t")
        #expect(statements[2].sql.hasSuffix("END; $$"))
        #expect(statements[3].sql.hasSuffix("END; $body$"))
    }

    @Test("a file of comments and space has no statements")
    func empty() {
        #expect(SQLScript("-- nothing here;\n/* nor; here */\n  \n;;").statements.isEmpty)
    }

    @Test("each service migration cuts into one statement per CREATE, ALTER, DROP, INSERT and UPDATE")
    func serviceMigrations() throws {
        let folder = TestPaths.root.appendingPathComponent("migrations/postgres")
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".sql") {
            let sql = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            let statements = SQLScript(sql).statements
            let verbs = ["CREATE", "ALTER", "DROP", "INSERT", "UPDATE"]
            let expected = sql.split(separator: "\n").filter { line in verbs.contains { line.hasPrefix($0 + " ") } }
            #expect(statements.count == expected.count, "\(file)")
            #expect(statements.allSatisfy { statement in verbs.contains { statement.sql.hasPrefix($0) } }, "\(file)")
        }
    }
}
