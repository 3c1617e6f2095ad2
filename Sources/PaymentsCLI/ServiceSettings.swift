import Configuration
import Foundation
import Payments
import PaymentsHTTP
import PaymentsPostgres
import SystemPackage

/// Every setting of the service, resolved from (highest first) command-line flags, environment variables
/// (`PAYMENTS_DB`, `PAYMENTS_PORT`, ...), the config file, and the built-in development defaults.
struct ServiceSettings: Sendable {
    var environment: String
    var host: String
    var port: Int
    var publicBaseURL: String?
    var db: String
    /// `PAYMENTS_DATABASE_URL` (`databaseURL`, `--database-url`): a postgres:// URL selects the PostgreSQL store
    /// instead of the SQLite file; nil (unset or empty) keeps SQLite.
    var databaseURL: PostgresSettings?
    /// Connections of the PostgreSQL store's pool (`databasePoolSize`).
    var databasePoolSize: Int = PostgresPaymentStore.defaultPoolSize
    var networkLedger: String
    /// Whether ``networkLedger`` is its default, `card-network.sqlite` beside the database (no setting named it).
    var networkLedgerIsDefault = false
    var migrations: String
    /// The folder of the checkout's static files.
    var publicFolder: String
    /// Every secret key accepted (`secretKeys`, then `secretKey`); several while one is rolled.
    var secretKeys: [String]
    /// Every publishable key accepted (`publishableKeys`, then `publishableKey`); the first is handed out.
    var publishableKeys: [String]
    /// The vault key that seals (and opens).
    var vaultKey: String
    /// Older vault keys that only open: rows sealed under them until `payments vault rotate` re-seals them.
    var vaultOldKeys: [String]
    var confirmationWindow: Int64
    /// How long a request's idempotency key or recharge reference stays held after its holder was last heard of
    /// (seconds; a live holder renews it).
    var idempotencyLease: Int64
    /// How long a card network call may take (seconds).
    var networkTimeout: Double
    var sweepInterval: Int
    /// How long a sweeper pass holds a rule's lease (seconds); see ``PaymentsContext/Settings/sweeperLease``.
    var sweeperLease: Int64
    var synchronous: String
    /// Fold concurrent writes into shared commits (on unless measuring without it).
    var groupCommit: Bool
    /// A pause the test-mode network makes before each authorization, to stand in for a remote acquirer (ms).
    var networkLatency: Int
    var logLevel: String
    /// How log lines look: `text` (swift-log's line) or `json` (one object per line).
    var logFormat: String
    var catalog: Catalog
    var configFile: String?
    /// Test builds only: the named point at which the process kills itself (crash tests).
    var faultPoint: String?
    /// Test builds only: what happens at the fault point: `kill` (SIGKILL, the default) or `fail` (the step fails
    /// once, as a card network that does not answer).
    var faultAction: String?
    /// A sentence for each setting given under a name no setting has (``unknownSettings(environment:)``):
    /// `serve` logs them as warnings, the other commands print them on standard error.
    var unknownSettings: [String] = []
    /// Request limits and the rate limit (`maxBodyBytes`, ..., `rateLimit`, `rateLimitBurst`; see
    /// ServiceSettings+Limits.swift).
    var limits = HTTPLimits()
    /// Seconds that SIGTERM/SIGINT leaves the requests in flight to finish before the process exits anyway.
    var shutdownGracePeriod: Double = ServiceSettings.defaultShutdownGracePeriod
    /// The threads `serve` reads and writes its sockets on (SwiftNIO's event loops; see ``defaultEventLoops``).
    var eventLoops: Int = ServiceSettings.defaultEventLoops
    /// Added to the nice value of the SQLite writers' threads (the database's and the card network ledger's);
    /// 0 keeps the process's priority (see ``readLimits(_:)``).
    var writerNiceness = 0
    /// Bytes that must be left on the file system of the SQLite database and of the card network's ledger for
    /// `/health/ready` to answer ready (0: not checked; see ``readLimits(_:)``).
    var minimumFreeDisk = ServiceSettings.defaultMinimumFreeDisk

    /// The development keys: known to everyone, so production refuses them.
    static let developmentSecretKey = "sk_test_development_51PaymentsLocalKeyDoNotUse"
    static let developmentPublishableKey = "pk_test_development_51PaymentsLocalKeyDoNotUse"
    static let developmentVaultKey = "ZGV2ZWxvcG1lbnQtdmF1bHQta2V5LWRvLW5vdC11c2U="

    /// Flags shared by every command that opens the database.
    struct Overrides: Sendable {
        var config: String?
        var db: String?
        var host: String?
        var port: Int?
        var migrations: String?
        var databaseURL: String?
        /// What a `--db` does to a `databaseURL` the environment or the config file sets.
        var databaseURLBesideDB = DatabaseURLBesideDB.refused
        /// The command logs ``ServiceSettings/unknownSettings`` itself (`serve`, once its log is set up); otherwise
        /// they are printed on standard error as the settings are read.
        var logsUnknownSettings = false
        /// Whether the command uses the API keys and the vault key. `report`, `export` and `import` read or copy rows
        /// (sealed card data stays sealed, and no request is served): their keys are neither read nor required, so
        /// whoever makes a backup or reads a report of a production database need not hold the production secrets.
        var usesKeys = true
        /// Whether the command opens the card network's ledger. Those that do not (`report`, `export`, `import`,
        /// which read or copy the database alone) are not refused a ledger setting that names their database: `export
        /// --db card-network.sqlite`, the ledger named by mistake, was told the ledger was its database, where the
        /// command's own check says that file holds none of the service's tables.
        var usesLedger = true
    }

    /// What a `--db` flag does to a `databaseURL` set in the environment or the config file (a `--database-url` flag
    /// beside `--db` is a usage error of its own).
    enum DatabaseURLBesideDB: Sendable {
        /// The command refuses to run: `payments report --db copy.sqlite` with `PAYMENTS_DATABASE_URL` set read the
        /// PostgreSQL database and printed its figures as if they were the file's; `serve --db` so would take
        /// payments into a database its operator did not name. Which of the two was meant is the operator's to say.
        case refused
        /// The `--db` file is used (`export` and `import`, whose `--db` and `--database-url` name the two ends of a
        /// move while `PAYMENTS_DATABASE_URL` may already name the new database).
        case ignored
    }

    /// Problems that stop the service from starting.
    enum SettingsError: Error, CustomStringConvertible {
        case developmentKeysInProduction(String)
        /// A key setting that cannot work: the message names the setting, never the key.
        case badKey(String)
        case unreadableCatalog(path: String, reason: String)
        case invalid(String)

        var description: String {
            switch self {
            case .developmentKeysInProduction(let which):
                "This configuration is for production but uses the development \(which). Set "
                    + "PAYMENTS_SECRET_KEY, PAYMENTS_PUBLISHABLE_KEY and PAYMENTS_VAULT_KEY to your own values "
                    + "(config/development.json's keys stand in for any not set: with keys in PAYMENTS_SECRET_KEYS or "
                    + "PAYMENTS_PUBLISHABLE_KEYS alone, set PAYMENTS_SECRET_KEY= and PAYMENTS_PUBLISHABLE_KEY= empty)."
            case .badKey(let reason): reason
            case .unreadableCatalog(let path, let reason):
                "The catalog file '\(path)' (setting catalog, PAYMENTS_CATALOG) cannot be read: \(reason)."
            case .invalid(let reason): reason
            }
        }
    }

    /// What was wrong with a config file, from the error reading it: Foundation's debug description of a JSON
    /// error (`Unexpected end of file during JSON parse.`), else the error's own text.
    static func configFileProblem(_ error: any Error) -> String {
        let nsError = error as NSError
        if let detail = nsError.userInfo["NSDebugDescription"] as? String { return detail }
        return "\(error)"
    }

    /// Resolves the settings.
    static func load(_ overrides: Overrides, environment: [String: String] = ProcessInfo.processInfo.environment)
        async throws -> ServiceSettings
    {
        let configFile = overrides.config ?? environment["PAYMENTS_CONFIG"] ?? "config/development.json"
        var flagValues: [AbsoluteConfigKey: ConfigValue] = [:]
        if let db = overrides.db { flagValues[key("db")] = ConfigValue(.string(db), isSecret: false) }
        if let host = overrides.host { flagValues[key("host")] = ConfigValue(.string(host), isSecret: false) }
        if let port = overrides.port { flagValues[key("port")] = ConfigValue(.int(port), isSecret: false) }
        if let url = overrides.databaseURL {
            flagValues[key("databaseURL")] = ConfigValue(.string(url), isSecret: true)
        }
        if let folder = overrides.migrations {
            flagValues[key("migrations")] = ConfigValue(.string(folder), isSecret: false)
        }
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: flagValues),
            EnvironmentVariablesProvider(
                environmentVariables: environment,
                secretsSpecifier: .specific(Set(keySettings.map(\.environment) + ["PAYMENTS_DATABASE_URL"]))
            ),
        ]
        var isFolder: ObjCBool = false
        let fileExists = FileManager.default.fileExists(atPath: configFile, isDirectory: &isFolder)
        if fileExists {
            // A folder, or a file this user may not read: said so, where it was "not a JSON object of settings" with
            // Foundation's error dump (a probe)
            if isFolder.boolValue {
                throw SettingsError.invalid("The config file '\(configFile)' is a folder; name the JSON file.")
            }
            if !FileManager.default.isReadableFile(atPath: configFile) {
                throw SettingsError.invalid(
                    "The config file '\(configFile)' cannot be read: permission denied (for this user)."
                )
            }
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(configFile)))
            } catch {
                // Foundation's own text ("The data is not in the correct format.") names neither the file nor JSON
                throw SettingsError.invalid(
                    "The config file '\(configFile)' is not a JSON object of settings (\(Self.configFileProblem(error))). "
                        + "See config/development.json for its shape."
                )
            }
            try checkSettings(inConfigFile: configFile)
        } else if overrides.config != nil || environment["PAYMENTS_CONFIG"] != nil {
            throw SettingsError.invalid("The config file '\(configFile)' does not exist.")
        }
        let config = ConfigReader(providers: providers)
        let payments = config.scoped(to: "payments")
        var settings = ServiceSettings(
            environment: payments.string(forKey: "environment", default: "development")
                .trimmingCharacters(in: .whitespaces).lowercased(),
            host: payments.string(forKey: "host", default: "127.0.0.1"),
            port: try payments.checkedInt(forKey: "port", default: 4242),
            publicBaseURL: payments.string(forKey: "publicBaseURL"),
            db: payments.string(forKey: "db", default: "data/payments.sqlite"),
            networkLedger: "",
            migrations: payments.string(forKey: "migrations", default: "migrations"),
            publicFolder: payments.string(forKey: "publicFolder", default: "Public"),
            secretKeys: [],
            publishableKeys: [],
            vaultKey: "",
            vaultOldKeys: [],
            confirmationWindow: Int64(try payments.checkedInt(forKey: "confirmationWindow", default: 3600)),
            idempotencyLease: Int64(
                try payments.checkedInt(
                    forKey: "idempotencyLease",
                    default: Int(PaymentsContext.Settings.defaultIdempotencyLease)
                )
            ),
            networkTimeout: try payments.checkedDouble(
                forKey: "networkTimeout",
                default: Double(PaymentsContext.Settings.defaultNetworkTimeout.components.seconds)
            ),
            sweepInterval: try payments.checkedInt(forKey: "sweepInterval", default: 60),
            sweeperLease: Int64(
                try payments.checkedInt(
                    forKey: "sweeperLease",
                    default: Int(PaymentsContext.Settings.defaultSweeperLease)
                )
            ),
            synchronous: payments.string(forKey: "synchronous", default: "FULL").uppercased(),
            groupCommit: try payments.checkedBool(forKey: "groupCommit", default: true),
            networkLatency: try payments.checkedInt(forKey: "networkLatency", default: 0),
            logLevel: payments.string(forKey: "logLevel", default: "info"),
            logFormat: payments.string(forKey: "logFormat", default: "text"),
            catalog: .development,
            configFile: fileExists ? configFile : nil,
            faultPoint: environment["PAYMENTS_FAULT_POINT"],
            faultAction: environment["PAYMENTS_FAULT_ACTION"]
        )
        // The ledger sits beside the database unless configured: a separate file, like a remote acquirer's books.
        let defaultLedger = URL(fileURLWithPath: settings.db).deletingLastPathComponent()
            .appendingPathComponent("card-network.sqlite").path
        settings.networkLedger = payments.string(forKey: "networkLedger", default: defaultLedger)
        if overrides.db != nil || environment["PAYMENTS_DB"] != nil, environment["PAYMENTS_NETWORK_LEDGER"] == nil {
            settings.networkLedger = defaultLedger
        }
        settings.networkLedgerIsDefault = settings.networkLedger == defaultLedger
        try settings.readDatabaseURL(payments)
        if overrides.db != nil, overrides.databaseURL == nil, let url = settings.databaseURL {
            switch overrides.databaseURLBesideDB {
            case .ignored:
                settings.databaseURL = nil
            case .refused:
                throw SettingsError.invalid(
                    "--db names the SQLite file \(settings.db), and PAYMENTS_DATABASE_URL (or the config file's "
                        + "databaseURL) names the PostgreSQL database \(url.redactedURL). Say which to use: leave out "
                        + "--db for PostgreSQL, or unset PAYMENTS_DATABASE_URL (set it empty) for the file."
                )
            }
        }
        try settings.refuseEmptyFileNames()
        if overrides.usesLedger { try settings.refuseLedgerOverDatabase() }
        if overrides.usesKeys { try settings.readKeys(payments) }
        try settings.readLimits(payments)
        if let catalogFile = payments.string(forKey: "catalog") {
            // `PAYMENTS_CATALOG=` named the working directory: "cannot be read: Is a directory"
            guard !catalogFile.allSatisfy(\.isWhitespace) else {
                throw SettingsError.invalid(
                    "The catalog (catalog, PAYMENTS_CATALOG) is set empty: name a catalog file, or leave the setting "
                        + "out for the development catalog."
                )
            }
            settings.catalog = try readCatalog(catalogFile)
        }
        try settings.validate(keys: overrides.usesKeys)
        settings.unknownSettings = unknownSettings(environment: environment)
        if !overrides.logsUnknownSettings {
            for sentence in settings.unknownSettings {
                StandardOutput.writeAll("payments: warning: \(sentence)\n", to: STDERR_FILENO)
            }
        }
        return settings
    }

    /// Refuses an empty name for the SQLite database or the card network's ledger (`PAYMENTS_NETWORK_LEDGER=`, as one
    /// unsets a variable). SQLite opens an empty path as a private temporary database: the ledger's authorizations
    /// vanished when the process exited, and the next start refused the database, its approved charges missing from a
    /// ledger that was nowhere. An empty database name failed with SQLite's "could not activate WAL Mode at path: ".
    func refuseEmptyFileNames() throws {
        let files = [
            (db, "The database (db, --db, PAYMENTS_DB)", "data/payments.sqlite", databaseURL == nil),
            (
                networkLedger, "The card network's ledger (networkLedger, PAYMENTS_NETWORK_LEDGER)",
                "card-network.sqlite beside the database", true
            ),
        ]
        for (path, role, standard, used) in files where used && path.allSatisfy(\.isWhitespace) {
            throw SettingsError.invalid(
                "\(role) is set empty: name a file, or leave the setting out for its default (\(standard))."
            )
        }
        // The checkout's folder too: empty, the server started with a warning and every /checkout/ page a 404, where
        // every other empty setting is refused (a probe)
        if publicFolder.allSatisfy(\.isWhitespace) {
            throw SettingsError.invalid(
                "The checkout's folder (publicFolder, PAYMENTS_PUBLIC_FOLDER) is set empty: name the folder, or leave "
                    + "the setting out for its default (Public)."
            )
        }
    }

    /// Refuses a card network ledger that is the service's SQLite database, or one of the files SQLite keeps beside
    /// it, by any name (a relative path, a link, a hard link). The network made its tables in the service's database
    /// and added a column to the service's `refunds` table, and every refund failed from then on.
    func refuseLedgerOverDatabase() throws {
        guard databaseURL == nil else { return }
        for suffix in ["", "-wal", "-shm", "-journal"]
        where FileNames.same(networkLedger, db + suffix) || FileNames.same(db, networkLedger + suffix) {
            let which = suffix.isEmpty ? "the service's database" : "the file SQLite keeps beside the database"
            if networkLedgerIsDefault {
                // No setting named the ledger: the database named is the ledger's file, card-network.sqlite, or its
                // log (`payments migrate --db card-network.sqlite`), and telling its operator to name another ledger
                // misled (a probe)
                let what =
                    FileNames.same(db, networkLedger + suffix) && !suffix.isEmpty
                    ? "the file SQLite keeps beside the card network's ledger (card-network.sqlite\(suffix))"
                    : "the card network's ledger (card-network.sqlite, its authorizations and refunds)"
                throw SettingsError.invalid(
                    "The database \(db) is \(what), not the service's database: name the service's database "
                        + "(payments.sqlite by default) with --db or PAYMENTS_DB."
                )
            }
            throw SettingsError.invalid(
                "The card network's ledger (networkLedger, PAYMENTS_NETWORK_LEDGER) \(networkLedger) is \(which) "
                    + "\(db): the ledger is a file of its own, as an acquirer's books would be. Name another file "
                    + "(by default it is card-network.sqlite beside the database)."
            )
        }
    }

    /// The JSON type a config file must give a setting.
    enum SettingKind: Equatable {
        case text, wholeNumber, number, flag, textOrList

        /// The type as a message names it.
        var name: String {
            switch self {
            case .text: "text in quotes"
            case .wholeNumber: "a whole number"
            case .number: "a number"
            case .flag: "true or false"
            case .textOrList: "text in quotes or a list of them"
            }
        }

        func accepts(_ value: ConfigFileValue) -> Bool {
            switch (self, value) {
            case (.text, .text), (.wholeNumber, .wholeNumber), (.number, .wholeNumber), (.number, .number),
                (.flag, .flag), (.textOrList, .text), (.textOrList, .textList):
                true
            default: false
            }
        }
    }

    /// A config file's value as `JSONDecoder` tells the types apart: unlike `JSONSerialization`, it never reads
    /// `true` as 1 or 1 as `true`.
    enum ConfigFileValue: Decodable, CustomStringConvertible {
        case flag(Bool), wholeNumber(Int), number(Double), text(String), textList([String]), other(String)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Bool.self) {
                self = .flag(value)
            } else if let value = try? container.decode(Int.self) {
                self = .wholeNumber(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else if let value = try? container.decode(String.self) {
                self = .text(value)
            } else if let value = try? container.decode([String].self) {
                self = .textList(value)
            } else if container.decodeNil() {
                self = .other("null")
            } else {
                self = .other("a list or an object")
            }
        }

        var description: String {
            switch self {
            case .flag(let value): "\(value)"
            case .wholeNumber(let value): "\(value)"
            case .number(let value): "\(value)"
            case .text(let value): "'\(value)'"
            case .textList: "a list of text"
            case .other(let what): what
            }
        }
    }

    /// Every setting a config file may hold under `payments` (each read by ``load(_:environment:)`` and its
    /// helpers), with the JSON type it must have.
    static let settingKinds: [String: SettingKind] = [
        "catalog": .text, "confirmationWindow": .wholeNumber, "databasePoolSize": .wholeNumber, "databaseURL": .text,
        "db": .text, "environment": .text, "eventLoops": .wholeNumber, "groupCommit": .flag, "host": .text,
        "idempotencyLease": .wholeNumber, "idleTimeout": .number, "logFormat": .text, "logLevel": .text,
        "maxBodyBytes": .wholeNumber, "maxFormParameters": .wholeNumber, "maxHeaderBytes": .wholeNumber,
        "maxHeaderCount": .wholeNumber, "migrations": .text, "networkLatency": .wholeNumber, "networkLedger": .text,
        "networkTimeout": .number, "port": .wholeNumber, "publicBaseURL": .text, "publicFolder": .text,
        "rateLimit": .number, "rateLimitBurst": .number, "shutdownGracePeriod": .number,
        "sweepInterval": .wholeNumber, "sweeperLease": .wholeNumber, "synchronous": .text,
        "writerNiceness": .wholeNumber, "minimumFreeDisk": .wholeNumber, "publishableKey": .text,
        "publishableKeys": .textOrList, "secretKey": .text,
        "secretKeys": .textOrList, "vaultKey": .text, "vaultOldKeys": .textOrList,
    ]

    /// Refuses a config file with a setting this service does not know (`confirmWindow` for `confirmationWindow`),
    /// one outside `payments`, or one of the wrong JSON type (`"port": true`, `"host": 5`): read as nothing, or
    /// coerced, it would leave the setting at its default or another value without a word.
    static func checkSettings(inConfigFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path),
            let file = try? JSONDecoder().decode([String: [String: ConfigFileValue]?].self, from: data)
        else {
            // The file provider has already refused what is not a JSON object; here only a top-level value
            // that is not an object of settings is left.
            if let data = FileManager.default.contents(atPath: path),
                let file = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            {
                if let outside = file.keys.sorted().first(where: { $0 != "payments" }) {
                    throw SettingsError.invalid(
                        "The config file '\(path)' has '\(outside)' outside \"payments\": every setting goes inside it."
                    )
                }
                throw SettingsError.invalid(
                    "The config file '\(path)' must hold its settings in an object: {\"payments\": {...}}."
                )
            }
            return
        }
        if let outside = file.keys.sorted().first(where: { $0 != "payments" }) {
            throw SettingsError.invalid(
                "The config file '\(path)' has '\(outside)' outside \"payments\": every setting goes inside it."
            )
        }
        // `{"payments": null}` reads as no settings at all: the file's author meant some, as a setting of `null`.
        if let payments = file["payments"], payments == nil {
            throw SettingsError.invalid(
                "The config file '\(path)' has \"payments\": null; write its settings in an object, "
                    + "{\"payments\": {...}}, or leave \"payments\" out."
            )
        }
        let settings = (file["payments"] ?? nil) ?? [:]
        // Every unknown setting at once: a file with several typos is mended in one go, not one start per typo
        let unknown = settings.keys.sorted().filter { settingKinds[$0] == nil }
        if !unknown.isEmpty {
            func near(_ name: String) -> String {
                let near = settingKinds.keys.sorted().first {
                    $0.lowercased().hasPrefix(String(name.lowercased().prefix(4)))
                }
                return near.map { " (did you mean '\($0)'?)" } ?? ""
            }
            let which =
                unknown.count == 1
                ? "a setting 'payments.\(unknown[0])' that this service does not know\(near(unknown[0]))"
                : "\(unknown.count) settings that this service does not know: "
                    + unknown.map { "'payments.\($0)'\(near($0))" }.joined(separator: ", ")
            throw SettingsError.invalid(
                "The config file '\(path)' has \(which); README's Configuration table lists them."
            )
        }
        for name in settings.keys.sorted() {
            guard let kind = settingKinds[name], let value = settings[name], !kind.accepts(value) else { continue }
            var message = "\(name) (\(environmentName(name))) must be \(kind.name), not \(value)"
            if case .text(let text) = value,
                Int(text) != nil || Double(text) != nil || text == "true" || text == "false"
            {
                message += " in quotes: write it in the config file without quotes."
            } else {
                message += ", in the config file '\(path)'."
            }
            throw SettingsError.invalid(message)
        }
    }

    /// The environment variable of a setting, as swift-configuration's environment provider reads it: `PAYMENTS_` and
    /// the name in capitals, a `_` before each word (`rateLimitBurst` is `PAYMENTS_RATE_LIMIT_BURST`, `publicBaseURL`
    /// `PAYMENTS_PUBLIC_BASE_URL`: an acronym is one word, where this said `PAYMENTS_PUBLIC_BASE_U_R_L`).
    static func environmentName(_ name: String) -> String {
        var words = ""
        var previous: Character?
        for character in name {
            if character.isUppercase, let previous, previous.isLowercase || previous.isNumber { words += "_" }
            words += character.uppercased()
            previous = character
        }
        return "PAYMENTS_" + words
    }

    /// Reads `databaseURL` (a secret: its password is never printed) and `databasePoolSize`.
    /// - Throws: ``SettingsError/invalid(_:)`` naming what is wrong with the URL, never its password.
    mutating func readDatabaseURL(_ payments: ConfigReader) throws {
        databasePoolSize = try payments.checkedInt(
            forKey: "databasePoolSize",
            default: PostgresPaymentStore.defaultPoolSize
        )
        guard databasePoolSize >= 1 else {
            throw SettingsError.invalid("databasePoolSize (PAYMENTS_DATABASE_POOL_SIZE) must be at least 1.")
        }
        guard let text = payments.string(forKey: "databaseURL", isSecret: true), !text.isEmpty else { return }
        do {
            databaseURL = try PostgresSettings(url: text)
        } catch {
            throw SettingsError.invalid("PAYMENTS_DATABASE_URL (databaseURL): \(error.description)")
        }
    }

    /// The folder of the PostgreSQL migrations: `postgres/` inside the migrations folder.
    var postgresMigrations: String { URL(fileURLWithPath: migrations).appendingPathComponent("postgres").path }

    /// The database as messages name it: the SQLite file, or the PostgreSQL URL without its password.
    var databaseName: String { databaseURL?.redactedURL ?? db }

    /// Whether `host` names every address of the machine (`0.0.0.0`, `::`) rather than one a browser can open: in
    /// any spelling the system reads as the all-zero address (`0`, `::0`, `::ffff:0.0.0.0`), which a list of
    /// spellings missed while the server listened on every address all the same.
    static func isWildcard(_ host: String) -> Bool {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &found) == 0, let first = found else { return false }
        defer { freeaddrinfo(first) }
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let entry = next {
            defer { next = entry.pointee.ai_next }
            guard let address = entry.pointee.ai_addr else { continue }
            switch Int32(address.pointee.sa_family) {
            case AF_INET:
                let ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                if ipv4 != 0 { return false }
            case AF_INET6:
                let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                }
                // All zeros (`::`), or the IPv4-mapped all-zero address (`::ffff:0.0.0.0`)
                let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
                if !(bytes.allSatisfy { $0 == 0 } || (mapped && bytes[12...].allSatisfy { $0 == 0 })) { return false }
            default:
                return false
            }
        }
        return true
    }

    /// Refuses settings that cannot work, and development secrets in production.
    /// - Parameter keys: whether the command uses the keys (``Overrides/usesKeys``): their checks are skipped if not.
    func validate(keys: Bool = true) throws {
        // Checked first: every production check below hangs on this value being exactly `production`.
        guard environment == "development" || environment == "production" else {
            throw SettingsError.invalid(
                "environment (PAYMENTS_ENVIRONMENT) must be development or production, not '\(environment)'."
            )
        }
        if keys { try validateKeys() }
        // Lower bounds, each naming its setting and variable (a shared message named two settings for one)
        for (name, value, least, unit) in [
            ("port", Int64(port), 0, ""), ("confirmationWindow", confirmationWindow, 1, " s"),
            ("sweepInterval", Int64(sweepInterval), 0, " s"), ("sweeperLease", Int64(sweeperLease), 1, " s"),
            // A lease is counted in whole seconds from the second it was renewed in, and renewed every third of its
            // length less one second: at least 3 s, so that a live holder keeps its key through a missed renewal
            ("idempotencyLease", idempotencyLease, 3, " s"), ("networkLatency", Int64(networkLatency), 0, " ms"),
        ] as [(String, Int64, Int64, String)] where value < least {
            throw SettingsError.invalid(
                "\(name) (\(Self.environmentName(name))) must be at least \(least)\(unit), not \(value)."
            )
        }
        guard port <= 65535 else {
            throw SettingsError.invalid("port (PAYMENTS_PORT) must be at most 65535, not \(port).")
        }
        // Upper bounds: times are added to the clock as 64-bit seconds (and intervals become nanoseconds), so a
        // value near the integer's limit would overflow at the first payment or sweep instead of being refused here.
        for (name, value, most) in [
            ("confirmationWindow", Double(confirmationWindow), 30.0 * 86_400),
            ("idempotencyLease", Double(idempotencyLease), 86_400),
            ("sweepInterval", Double(sweepInterval), 86_400),
            ("sweeperLease", Double(sweeperLease), 86_400),
            ("networkTimeout", networkTimeout, 3_600),
            ("networkLatency", Double(networkLatency) / 1_000, 3_600),
            // A dispatch timer's deadline: past Int64's nanoseconds (about 292 years) the stop itself would trap
            ("shutdownGracePeriod", shutdownGracePeriod, 86_400),
        ] where !(value <= most) {
            throw SettingsError.invalid(
                "\(name) (\(Self.environmentName(name))) must be at most \(Int(most)) \(name == "networkLatency" ? "s (in ms)" : "seconds")."
            )
        }
        if publicBaseURL == nil, environment == "production", Self.isWildcard(host) {
            // The challenge links were made from the host: `http://0.0.0.0:4242/3ds/...`, which no customer's
            // browser opens, so every payment that needs 3-D Secure failed
            throw SettingsError.invalid(
                "publicBaseURL (PAYMENTS_PUBLIC_BASE_URL) is required in production when host is '\(host)', which "
                    + "names every address of the machine and none a customer can open: the 3-D Secure links sent to "
                    + "customers are made from it. Set it to the address customers reach the service at, such as "
                    + "https://pay.example.com."
            )
        }
        if let base = publicBaseURL {
            guard let url = URLComponents(string: base), url.scheme == "http" || url.scheme == "https",
                url.host?.isEmpty == false
            else {
                throw SettingsError.invalid(
                    "publicBaseURL (PAYMENTS_PUBLIC_BASE_URL) must be an http or https URL, such as "
                        + "https://pay.example.com, not '\(base)'."
                )
            }
            // Challenge links are this base with `/3ds/...` added: after a query or a fragment the path landed in
            // them (`https://pay.example.com/?x=1/3ds/pi_...`), and credentials went to every customer's browser
            if url.query != nil || url.fragment != nil || url.user != nil || url.password != nil {
                throw SettingsError.invalid(
                    "publicBaseURL (PAYMENTS_PUBLIC_BASE_URL) must be the address the service is reached at, with no "
                        + "query (?), fragment (#) or user name: the 3-D Secure links are made by adding a path to it."
                )
            }
        }
        guard networkTimeout > 0 else {
            throw SettingsError.invalid(
                "networkTimeout (PAYMENTS_NETWORK_TIMEOUT) must be positive, not \(networkTimeout)."
            )
        }
        guard synchronous == "FULL" || synchronous == "NORMAL" else {
            throw SettingsError.invalid(
                "synchronous (PAYMENTS_SYNCHRONOUS) must be FULL or NORMAL, not '\(synchronous)'."
            )
        }
        try validateLimits()
        if let problem = catalog.problem {
            throw SettingsError.invalid("The catalog (catalog, PAYMENTS_CATALOG): \(problem)")
        }
    }

    private static func key(_ name: String) -> AbsoluteConfigKey {
        AbsoluteConfigKey(["payments", name])
    }

    /// The catalogue file named by the `catalog` setting: `{"default": ID, "items": [{id, name, amount,
    /// currency}]}` (a list of objects, which key-value configuration providers do not model).
    private static func readCatalog(_ path: String) throws -> Catalog {
        struct File: Decodable {
            var `default`: String
            var items: [Catalog.Item]
        }
        let data: Data
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw SettingsError.unreadableCatalog(path: path, reason: "it is a folder")
        }
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SettingsError.unreadableCatalog(path: path, reason: fileProblem(error))
        }
        do {
            let file = try JSONDecoder().decode(File.self, from: data)
            return Catalog(items: file.items, defaultItem: file.default)
        } catch {
            throw SettingsError.unreadableCatalog(path: path, reason: catalogProblem(error, data: data))
        }
    }

    /// Why a file named by a setting cannot be read, in a few words: "it does not exist", "permission denied", else
    /// the system's reason (``FileNames/reason(_:)``), never Foundation's `NSCocoaErrorDomain` dump.
    static func fileProblem(_ error: any Error) -> String {
        switch (error as NSError).code {
        case NSFileReadNoSuchFileError: "it does not exist"
        case NSFileReadNoPermissionError: "permission denied"
        default: FileNames.reason(error)
        }
    }

    /// The first item whose `amount` is a number but not a whole one within Int64, as `items[i].amount is 10.5`.
    private static func wholeNumberProblem(_ data: Data) -> String? {
        guard let file = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let items = file["items"] as? [Any]
        else { return nil }
        for (index, item) in items.enumerated() {
            guard let amount = (item as? [String: Any])?["amount"] as? NSNumber else { continue }
            if Int64(exactly: amount.doubleValue) == nil || amount.stringValue.contains(".") {
                return "items[\(index)].amount is \(amount), not a whole number of the currency's minor unit"
            }
        }
        return nil
    }

    /// What is wrong with a catalogue's JSON: the field and the expected shape, from a `DecodingError`.
    private static func catalogProblem(_ error: any Error, data: Data) -> String {
        let shape = #"it must be {"default": ID, "items": [{"id", "name", "amount", "currency"}, ...]}"#
        func at(_ path: [any CodingKey]) -> String {
            let steps = path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return steps.hasPrefix(".") ? String(steps.dropFirst()) : steps
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?:
            return "\(at(context.codingPath + [key])) is missing; \(shape)"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            return "\(at(context.codingPath)) has the wrong type; \(shape)"
        case .dataCorrupted? where (try? JSONSerialization.jsonObject(with: data)) != nil:
            // JSON, with a number its field cannot take (an amount of 10.5, or one past Int64): Foundation's decoder
            // says only "The given data was not valid JSON.", with no field
            return "\(wholeNumberProblem(data) ?? "a number is not a whole number"); \(shape)"
        case .dataCorrupted(let context)?:
            let detail = (context.underlyingError as NSError?)?.userInfo["NSDebugDescription"] as? String
            return "it is not JSON (\(detail ?? context.debugDescription))"
        default:
            return configFileProblem(error)
        }
    }
}

extension ConfigReader {
    /// A whole-number setting, or `defaultValue` when it is not set.
    /// - Throws: ``ServiceSettings/SettingsError/invalid(_:)`` naming the setting when it is given as text that is
    ///   not a whole number (`PAYMENTS_IDEMPOTENCY_LEASE=30s`): swift-configuration reads such a value as missing,
    ///   and the setting would silently keep its default.
    func checkedInt(forKey name: String, default defaultValue: Int) throws -> Int {
        try checked(name, "a whole number", int(forKey: ConfigKey(name)), default: defaultValue)
    }

    /// A number setting, or `defaultValue` when it is not set; refuses text that is not a number.
    func checkedDouble(forKey name: String, default defaultValue: Double) throws -> Double {
        try checked(name, "a number", double(forKey: ConfigKey(name)), default: defaultValue)
    }

    /// A switch, or `defaultValue` when it is not set; refuses text that is not `true` or `false`.
    func checkedBool(forKey name: String, default defaultValue: Bool) throws -> Bool {
        try checked(name, "true or false", bool(forKey: ConfigKey(name)), default: defaultValue)
    }

    private func checked<Value>(_ name: String, _ kind: String, _ read: Value?, default defaultValue: Value) throws
        -> Value
    {
        if let read { return read }
        // Text is what the environment gives (and a file's quoted value); a file's numbers are not text.
        if let text = string(forKey: ConfigKey(name)) {
            // Text that would be right unquoted can only be a config file's string ("8080"): say so. Only when it
            // would be right: `1.5` for a whole number is wrong however it is written (and may have come from the
            // environment, where quotes are not the matter).
            let unquote =
                switch kind {
                case "a whole number": Int(text) != nil
                case "a number": Double(text) != nil
                default: text == "true" || text == "false"
                }
            throw ServiceSettings.SettingsError.invalid(
                "\(name) (\(ServiceSettings.environmentName(name))) must be \(kind), not '\(text)'"
                    + (unquote ? " in quotes: write it in the config file without quotes." : ".")
            )
        }
        // A config file's value of another JSON type (8080.5 for a whole number, a list, true): never the default.
        let key = ConfigKey(name)
        var other: String?
        if let value = double(forKey: key) {
            other = "\(value)"
        } else if let value = bool(forKey: key) {
            other = "\(value)"
        } else if let value = stringArray(forKey: key) {
            other = "\(value)"
        } else if let value = intArray(forKey: key) {
            other = "\(value)"
        }
        if let other {
            throw ServiceSettings.SettingsError.invalid(
                "\(name) (\(ServiceSettings.environmentName(name))) must be \(kind), not \(other)."
            )
        }
        return defaultValue
    }
}
