import PaymentsCore
import Testing

@Suite("Secure ids")
struct IDGeneratorTests {
    static let alphabet = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    @Test("Ids have Stripe's prefixes and lengths, only alphanumerics, and never repeat")
    func shapes() {
        let ids = IDGenerator.secure
        #expect(ids.paymentIntent().hasPrefix("pi_") && ids.paymentIntent().count == 27)
        #expect(ids.customer().hasPrefix("cus_") && ids.customer().count == 18)
        #expect(ids.clientSecret(for: "pi_x").hasPrefix("pi_x_secret_"))
        for count in [0, 1, 7, 8, 9, 24, 100] {
            let token = ids.token(count)
            #expect(token.count == count)
            #expect(token.allSatisfy(Self.alphabet.contains))
        }
        let many = (0..<10_000).map { _ in ids.charge() }
        #expect(Set(many).count == many.count)
    }

    @Test("Ids drawn on many threads at once never share random bytes: none repeats")
    func concurrentDraws() async {
        // Random bytes are drawn from the system 4 KiB at a time and handed out once each: 16,000 tokens of 12
        // characters (about 48 KiB) cross many refills. Bytes handed out twice would repeat tokens (62^12 ≈ 3 × 10^21
        // values, so a chance repeat is out of the question).
        let tokens = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<2_000).map { _ in IDGenerator.secure.token(12) } }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(tokens.count == 16_000)
        #expect(Set(tokens).count == tokens.count)
        #expect(tokens.allSatisfy { $0.count == 12 && $0.allSatisfy(Self.alphabet.contains) })
    }

    @Test("Every character is equally likely (a byte maps onto the alphabet without modulo bias)")
    func uniform() {
        // 248,000 characters: 4,000 expected each (standard deviation about 63). Mapping every byte with `% 62`
        // would give the first 8 characters 5/256 of the draws each (about 4,840) and the rest 4/256 (about 3,870).
        var counts: [Character: Int] = [:]
        for character in IDGenerator.secure.token(248_000) { counts[character, default: 0] += 1 }
        #expect(counts.count == 62)
        #expect(counts.values.allSatisfy { (3_600...4_400).contains($0) })
    }

    @Test("Object ids start with an increasing sequence (so inserts append to their index) and end at random")
    func sequenced() {
        let ids = (0..<1_000).map { _ in IDGenerator.secure.paymentIntent() }
        // In creation order as text: each primary-key insert lands after the last one
        #expect(ids == ids.sorted())
        #expect(Set(ids.map { $0.dropFirst(3).prefix(6) }).count == ids.count)
        // The rest is random: 18 characters that differ between neighbours
        let tails = ids.map { $0.suffix(18) }
        #expect(Set(tails).count == tails.count)
        // Customers have 14 characters, 8 of them random; client secrets stay random throughout
        #expect(IDGenerator.secure.customer().count == 18)
        let secrets = (0..<100).map { _ in IDGenerator.secure.clientSecret(for: "pi_x") }
        #expect(secrets != secrets.sorted())
    }
}
