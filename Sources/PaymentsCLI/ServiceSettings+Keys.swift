import Configuration
import Foundation
import Payments

/// The API keys and vault keys: read as single keys or lists, and refused when they cannot work (or, in
/// production, when they are the public development keys, missing, or too short to be secret).
extension ServiceSettings {
    /// A key setting's name in the config file and in the environment.
    struct KeySetting: Sendable {
        let name: String
        let environment: String
    }

    static let secretKeySettings = [
        KeySetting(name: "secretKey", environment: "PAYMENTS_SECRET_KEY"),
        KeySetting(name: "secretKeys", environment: "PAYMENTS_SECRET_KEYS"),
    ]
    static let publishableKeySettings = [
        KeySetting(name: "publishableKey", environment: "PAYMENTS_PUBLISHABLE_KEY"),
        KeySetting(name: "publishableKeys", environment: "PAYMENTS_PUBLISHABLE_KEYS"),
    ]
    static let vaultKeySetting = KeySetting(name: "vaultKey", environment: "PAYMENTS_VAULT_KEY")
    static let vaultOldKeysSetting = KeySetting(name: "vaultOldKeys", environment: "PAYMENTS_VAULT_OLD_KEYS")

    /// Every key setting: their values are secrets to swift-configuration (redacted in its access reports).
    static var keySettings: [KeySetting] {
        secretKeySettings + publishableKeySettings + [vaultKeySetting, vaultOldKeysSetting]
    }

    /// The shortest API key production accepts: 32 characters, e.g. `sk_live_` and 24 random letters and digits
    /// (about 140 bits), far beyond guessing at any request rate; Stripe's own keys are longer still.
    static let minimumProductionKeyLength = 32
    /// The fewest different characters of an API key's random part (after `sk_`), and different bytes of a vault
    /// key, that production takes.
    static let minimumDistinctCharacters = 8

    /// Reads the key settings. Each kind of API key is the list setting's keys followed by the single setting's
    /// key (both may be set, which is how a key is rolled); the development keys stand in for a kind with none,
    /// outside production.
    mutating func readKeys(_ payments: ConfigReader) throws {
        let production = environment == "production"
        secretKeys = try Self.keys(payments, Self.secretKeySettings)
        if secretKeys.isEmpty, !production { secretKeys = [Self.developmentSecretKey] }
        publishableKeys = try Self.keys(payments, Self.publishableKeySettings)
        if publishableKeys.isEmpty, !production { publishableKeys = [Self.developmentPublishableKey] }
        let vault = payments.string(forKey: ConfigKey(Self.vaultKeySetting.name), isSecret: true)
        if let vault, vault.allSatisfy(\.isWhitespace) {
            // `PAYMENTS_VAULT_KEY=` overrode the config file's key, and development then sealed the cards under its
            // own, public key: a database the configured key could no longer open
            throw SettingsError.badKey(
                "The vault key, \(Self.names([Self.vaultKeySetting])), is set empty: give it a key (openssl rand "
                    + "-base64 32), or leave the setting out\(production ? "" : " for the development key")."
            )
        }
        vaultKey = vault ?? (production ? "" : Self.developmentVaultKey)
        vaultOldKeys = try Self.list(payments, Self.vaultOldKeysSetting) ?? []
    }

    /// The keys of one kind: the list setting's, then the single setting's, without repeats.
    private static func keys(_ payments: ConfigReader, _ settings: [KeySetting]) throws -> [String] {
        let single = payments.string(forKey: ConfigKey(settings[0].name), isSecret: true).map { [$0] } ?? []
        let listed = try list(payments, settings[1]) ?? []
        var seen = Set<String>()
        return (listed + single).filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    /// A list setting: a JSON array in the config file, or text that is either a comma-separated list or a JSON
    /// array of strings (in the environment). Spaces around the items are dropped, and empty items ignored.
    private static func list(_ payments: ConfigReader, _ setting: KeySetting) throws -> [String]? {
        let raw: [String]
        if let array = payments.stringArray(forKey: ConfigKey(setting.name), isSecret: true) {
            raw = array
        } else if let text = payments.string(forKey: ConfigKey(setting.name), isSecret: true) {
            raw = [text]
        } else {
            return nil
        }
        // The environment provider splits text at commas, JSON arrays too: join the parts again first.
        let text = raw.joined(separator: ",").trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("[") {
            guard let items = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
                throw SettingsError.badKey(
                    "\(setting.environment) (\(setting.name)) starts with [ but is not a JSON array of strings; give "
                        + "a JSON array or a comma-separated list."
                )
            }
            return items.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Refuses key settings that cannot work, and in production the development keys, a missing secret,
    /// publishable or vault key, and API keys shorter than ``minimumProductionKeyLength``. Messages name the
    /// setting, never a key.
    func validateKeys() throws {
        let secretNames = Self.names(Self.secretKeySettings)
        let publishableNames = Self.names(Self.publishableKeySettings)
        let vaultName = Self.names([Self.vaultKeySetting])
        let oldVaultNames = Self.names([Self.vaultOldKeysSetting])
        if environment == "production" {
            guard !secretKeys.isEmpty else {
                throw SettingsError.badKey("Production needs a secret key: set \(secretNames).")
            }
            guard !publishableKeys.isEmpty else {
                throw SettingsError.badKey("Production needs a publishable key: set \(publishableNames).")
            }
            guard !vaultKey.isEmpty else {
                throw SettingsError.badKey(
                    "Production needs a vault key: set \(vaultName) to 32 random bytes, base64-encoded "
                        + "(openssl rand -base64 32)."
                )
            }
            if secretKeys.contains(Self.developmentSecretKey) {
                throw SettingsError.developmentKeysInProduction("secret key (\(secretNames))")
            }
            if publishableKeys.contains(Self.developmentPublishableKey) {
                throw SettingsError.developmentKeysInProduction("publishable key (\(publishableNames))")
            }
            if vaultKey == Self.developmentVaultKey {
                throw SettingsError.developmentKeysInProduction("vault key (\(vaultName))")
            }
            if vaultOldKeys.contains(Self.developmentVaultKey) {
                throw SettingsError.developmentKeysInProduction("vault key among the old ones (\(oldVaultNames))")
            }
            for (keys, names) in [(secretKeys, secretNames), (publishableKeys, publishableNames)]
            where keys.contains(where: { $0.count < Self.minimumProductionKeyLength }) {
                throw SettingsError.badKey(
                    "A key of \(names) is shorter than \(Self.minimumProductionKeyLength) characters; production "
                        + "keys must be long random strings."
                )
            }
            // `sk_` and 32 zeros, or a vault key of 32 zero bytes, had the length and started (a probe): a random key
            // of that length has some 20 different characters, 30 different bytes
            for (keys, names) in [(secretKeys, secretNames), (publishableKeys, publishableNames)]
            where keys.contains(where: { Set(Self.randomPart(of: $0)).count < Self.minimumDistinctCharacters }) {
                throw SettingsError.badKey(
                    "A key of \(names) repeats a few characters (fewer than \(Self.minimumDistinctCharacters) "
                        + "different ones); production keys must be long random strings."
                )
            }
            for (key, names) in [(vaultKey, vaultName)] + vaultOldKeys.map({ ($0, oldVaultNames) })
            where (Data(base64Encoded: key).map { Set($0).count } ?? Int.max) < Self.minimumDistinctCharacters {
                throw SettingsError.badKey(
                    "\(names) repeats a few bytes (fewer than \(Self.minimumDistinctCharacters) different ones); "
                        + "make it with openssl rand -base64 32."
                )
            }
        }
        for (keys, prefix, names) in [(secretKeys, "sk_", secretNames), (publishableKeys, "pk_", publishableNames)] {
            guard keys.allSatisfy({ $0.hasPrefix(prefix) }) else {
                throw SettingsError.badKey(
                    "A key of \(names) does not start with \(prefix) (a placeholder left in the config file?)."
                )
            }
            guard keys.allSatisfy(Self.isKeyText) else {
                throw SettingsError.badKey(
                    "A key of \(names) has a character other than letters, digits and _ (a list needs commas "
                        + "between its keys, or a JSON array)."
                )
            }
        }
        guard Set(secretKeys).isDisjoint(with: publishableKeys) else {
            throw SettingsError.badKey("A key is both a secret key (\(secretNames)) and a publishable key.")
        }
        guard CardVault.keyID(ofBase64Key: vaultKey) != nil else {
            throw SettingsError.badKey(
                "\(vaultName) must be 32 random bytes, base64-encoded (openssl rand -base64 32)."
            )
        }
        guard vaultOldKeys.allSatisfy({ CardVault.keyID(ofBase64Key: $0) != nil }) else {
            throw SettingsError.badKey(
                "Every key of \(oldVaultNames) must be 32 bytes, base64-encoded, as the vault key was."
            )
        }
    }

    /// How the settings are named to the operator: `PAYMENTS_SECRET_KEY or PAYMENTS_SECRET_KEYS (secretKey,
    /// secretKeys in the config file)`.
    private static func names(_ settings: [KeySetting]) -> String {
        settings.map(\.environment).joined(separator: " or ") + " ("
            + settings.map(\.name).joined(separator: ", ") + " in the config file)"
    }

    /// What follows a key's kind and mode: `sk_`, and `live_` or `test_` when present (`sk_live_` and `abc`
    /// repeated passed as eight different characters).
    private static func randomPart(of key: String) -> Substring {
        var rest = key.dropFirst(3)
        for mode in ["live_", "test_"] where rest.hasPrefix(mode) { rest = rest.dropFirst(mode.count) }
        return rest
    }

    /// Whether `key` has only ASCII letters, digits and underscores, as Stripe's keys do.
    private static func isKeyText(_ key: String) -> Bool {
        key.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
        }
    }
}
