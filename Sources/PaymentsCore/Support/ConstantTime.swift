/// Comparisons of secrets (API keys, client secrets, challenge tokens) that take the same time however much of a
/// guess was right, so response timing reveals nothing of the secret.
public enum ConstantTime {
    /// Whether `a` and `b` are equal, without an early exit (only a length difference ends it early, and lengths
    /// are not secret: every key and token of a kind has the same one).
    public static func equals(_ a: String, _ b: String) -> Bool {
        equals(Array(a.utf8), Array(b.utf8))
    }

    /// Whether the bytes `x` and `y` are equal, without an early exit (as for strings), for a secret compared on
    /// every request and prepared once as bytes.
    public static func equals(_ x: [UInt8], _ y: [UInt8]) -> Bool {
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
