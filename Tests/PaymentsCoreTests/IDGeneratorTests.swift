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

    @Test("Every character is equally likely (a byte maps onto the alphabet without modulo bias)")
    func uniform() {
        // 248,000 characters: 4,000 expected each (standard deviation about 63). Mapping every byte with `% 62`
        // would give the first 8 characters 5/256 of the draws each (about 4,840) and the rest 4/256 (about 3,870).
        var counts: [Character: Int] = [:]
        for character in IDGenerator.secure.token(248_000) { counts[character, default: 0] += 1 }
        #expect(counts.count == 62)
        #expect(counts.values.allSatisfy { (3_600...4_400).contains($0) })
    }
}
