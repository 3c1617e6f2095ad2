import PaymentsCore
import Testing

@Suite("Test card table")
struct TestCardsTests {
    static let allNumbers = TestCards.all.map(\.number)

    @Test("Every test card number passes Luhn and parses", arguments: allNumbers)
    func luhn(number: String) throws {
        #expect(CardNumber.luhnIsValid(number))
        let parsed = try CardNumber(parsing: number)
        #expect(parsed.digits == number)
    }

    @Test("Brand detection agrees with the table", arguments: TestCards.all)
    func brand(card: TestCard) {
        #expect(CardBrand.detect(fromDigits: card.number) == card.brand, "\(card.number)")
    }

    @Test("Lookup by number finds each card", arguments: TestCards.all)
    func lookupByNumber(card: TestCard) {
        #expect(TestCards.card(forNumber: card.number) == card)
    }

    @Test("Each card's ids look like Stripe's and resolve to it", arguments: TestCards.all)
    func ownIDsResolve(card: TestCard) {
        for id in card.paymentMethodIDs {
            #expect(id.hasPrefix("pm_card_"))
            #expect(TestCards.card(forMagicPaymentMethodID: id) == card, "\(id)")
        }
    }

    @Test("Countries are ISO 3166 alpha-2", arguments: TestCards.all)
    func countries(card: TestCard) {
        #expect(card.country.count == 2)
        #expect(card.country.allSatisfy { $0.isASCII && $0.isUppercase })
    }

    @Test("Numbers and ids are unique across the table")
    func uniqueness() {
        #expect(Set(Self.allNumbers).count == Self.allNumbers.count)
        let ids = TestCards.all.flatMap(\.paymentMethodIDs)
        #expect(Set(ids).count == ids.count)
        #expect(TestCards.all.count >= 100)
    }

    @Test(
        "Magic ids named in the reference resolve to the documented numbers",
        arguments: [
            ("pm_card_visa", "4242424242424242"), ("pm_card_us", "4242424242424242"),
            ("pm_card_visa_debit", "4000056655665556"), ("pm_card_mastercard", "5555555555554444"),
            ("pm_card_mastercard_debit", "5200828282828210"), ("pm_card_mastercard_prepaid", "5105105105105100"),
            ("pm_card_amex", "378282246310005"), ("pm_card_amex_threeDSecureNotSupported", "378282246310005"),
            ("pm_card_discover", "6011111111111117"), ("pm_card_diners", "3056930009020004"),
            ("pm_card_jcb", "3566002020360505"), ("pm_card_unionpay", "6200000000000005"),
            ("pm_card_fr", "4000002500000003"), ("pm_card_de", "4000002760000016"),
            ("pm_card_gb", "4000008260000000"), ("pm_card_jp", "4000003920000003"),
            ("pm_card_au", "4000000360000006"), ("pm_card_it", "4000003800000008"),
            ("pm_card_ie", "4000003720000005"), ("pm_card_ca", "4000001240000000"),
            ("pm_card_gb_debit", "4000058260000005"), ("pm_card_gb_mastercard", "5555558265554449"),
            ("pm_card_ae_mastercard", "5200007840000022"), ("pm_card_th_credit", "4000007640000003"),
            ("pm_card_th_debit", "4000057640000008"),
            ("pm_card_visa_chargeDeclined", "4000000000000002"), ("pm_card_chargeDeclined", "4000000000000002"),
            ("pm_card_visa_chargeDeclinedInsufficientFunds", "4000000000009995"),
            ("pm_card_chargeDeclinedInsufficientFunds", "4000000000009995"),
            ("pm_card_visa_chargeDeclinedLostCard", "4000000000009987"),
            ("pm_card_visa_chargeDeclinedStolenCard", "4000000000009979"),
            ("pm_card_chargeDeclinedExpiredCard", "4000000000000069"),
            ("pm_card_chargeDeclinedIncorrectCvc", "4000000000000127"),
            ("pm_card_chargeDeclinedProcessingError", "4000000000000119"),
            ("pm_card_visa_chargeDeclinedVelocityLimitExceeded", "4000000000006975"),
            ("pm_card_chargeCustomerFail", "4000000000000341"),
            ("pm_card_radarBlock", "4100000000000019"), ("pm_card_chargeDeclinedFraudulent", "4100000000000019"),
            ("pm_card_riskLevelHighest", "4000000000004954"), ("pm_card_riskLevelElevated", "4000000000009235"),
            ("pm_card_cvcCheckFail", "4000000000000101"), ("pm_card_avsZipFail", "4000000000000036"),
            ("pm_card_avsLine1Fail", "4000000000000028"), ("pm_card_avsFail", "4000000000000010"),
            ("pm_card_avsUnchecked", "4000000000000044"),
            ("pm_card_authenticationRequiredOnSetup", "4000002500003155"),
            ("pm_card_authenticationRequired", "4000002760003184"),
            ("pm_card_authenticationRequiredSetupForOffSession", "4000003800000446"),
            ("pm_card_authenticationRequiredChargeDeclinedInsufficientFunds", "4000008260003178"),
            ("pm_card_threeDSecure2Required", "4000000000003220"),
            ("pm_card_threeDSecureRequired", "4000000000003063"),
            ("pm_card_threeDSecureRequiredChargeDeclined", "4000008400001629"),
            ("pm_card_threeDSecureRequiredProcessingError", "4000008400001280"),
            ("pm_card_threeDSecureOptional", "4000000000003055"),
            ("pm_card_threeDSecureOptionalProcessingError", "4000000000003097"),
            ("pm_card_bypassPending", "4000000000000077"),
            ("pm_card_bypassPendingInternational", "4000003720000278"),
            ("pm_card_createDispute", "4000000000000259"),
            ("pm_card_createDisputeProductNotReceived", "4000000000002685"),
            ("pm_card_createDisputeInquiry", "4000000000001976"),
            ("pm_card_createIssuerFraudRecord", "4000000000005423"),
            ("pm_card_pendingRefund", "4000000000007726"), ("pm_card_refundFail", "4000000000005126"),
        ]
    )
    func magicIDs(id: String, number: String) throws {
        let card = try #require(TestCards.card(forMagicPaymentMethodID: id))
        #expect(card.number == number)
    }

    @Test(
        "Aliases resolve to the same card",
        arguments: [
            ("pm_card_visa", "pm_card_us"),
            ("pm_card_amex", "pm_card_amex_threeDSecureNotSupported"),
            ("pm_card_visa_chargeDeclined", "pm_card_chargeDeclined"),
            ("pm_card_visa_chargeDeclinedInsufficientFunds", "pm_card_chargeDeclinedInsufficientFunds"),
            ("pm_card_visa_chargeDeclinedLostCard", "pm_card_chargeDeclinedLostCard"),
            ("pm_card_visa_chargeDeclinedStolenCard", "pm_card_chargeDeclinedStolenCard"),
            ("pm_card_chargeDeclinedExpiredCard", "pm_card_visa_chargeDeclinedExpiredCard"),
            ("pm_card_chargeDeclinedIncorrectCvc", "pm_card_visa_chargeDeclinedIncorrectCvc"),
            ("pm_card_chargeDeclinedProcessingError", "pm_card_visa_chargeDeclinedProcessingError"),
            ("pm_card_visa_chargeDeclinedVelocityLimitExceeded", "pm_card_chargeDeclinedVelocityLimitExceeded"),
            ("pm_card_chargeCustomerFail", "pm_card_visa_chargeCustomerFail"),
            ("pm_card_radarBlock", "pm_card_chargeDeclinedFraudulent"),
            ("pm_card_radarBlock", "pm_card_visa_chargeDeclinedFraudulent"),
        ]
    )
    func aliases(id: String, alias: String) throws {
        let card = try #require(TestCards.card(forMagicPaymentMethodID: id))
        #expect(TestCards.card(forMagicPaymentMethodID: alias) == card)
    }

    @Test("Unknown ids and real numbers are not test cards")
    func unknowns() {
        for id in ["pm_card_nope", "PM_CARD_VISA", "pm_card_visa ", "pm_1NxYz", "", "tok_visa", "4242424242424242"] {
            #expect(TestCards.card(forMagicPaymentMethodID: id) == nil, "\(id)")
        }
        for number in ["4111111111111111", "4012888888881881", "5105105105105106", "4242 4242 4242 4242", ""] {
            #expect(TestCards.card(forNumber: number) == nil, "\(number)")
        }
    }

    @Test(
        "Successful cards by brand and country",
        arguments: [
            ("4242424242424242", CardBrand.visa, CardFunding.credit, "US"),
            ("4000056655665556", .visa, .debit, "US"), ("5555555555554444", .mastercard, .credit, "US"),
            ("2223003122003222", .mastercard, .credit, "US"), ("5200828282828210", .mastercard, .debit, "US"),
            ("5105105105105100", .mastercard, .prepaid, "US"), ("378282246310005", .amex, .credit, "US"),
            ("371449635398431", .amex, .credit, "US"), ("6011111111111117", .discover, .credit, "US"),
            ("6011000990139424", .discover, .credit, "US"), ("6011981111111113", .discover, .debit, "US"),
            ("3056930009020004", .diners, .credit, "US"), ("36227206271667", .diners, .credit, "US"),
            ("3566002020360505", .jcb, .credit, "JP"), ("6200000000000005", .unionpay, .credit, "CN"),
            ("4000002500000003", .visa, .credit, "FR"), ("4000002760000016", .visa, .credit, "DE"),
            ("4000008260000000", .visa, .credit, "GB"), ("4000003800000008", .visa, .credit, "IT"),
            ("4000003920000003", .visa, .credit, "JP"), ("3530111333300000", .jcb, .credit, "JP"),
            ("4000000360000006", .visa, .credit, "AU"), ("4000058260000005", .visa, .debit, "GB"),
            ("5555558265554449", .mastercard, .credit, "GB"), ("4000004840008001", .visa, .credit, "MX"),
        ]
    )
    func successfulCards(number: String, brand: CardBrand, funding: CardFunding, country: String) throws {
        let card = try #require(TestCards.card(forNumber: number))
        #expect(card.brand == brand)
        #expect(card.funding == funding)
        #expect(card.country == country)
        #expect(card.charge == .approve)
        #expect(card.attach == .succeeds)
        #expect(card.offSessionCharge == nil)
    }

    @Test(
        "Declines: code, decline code, message, and whether attaching fails too",
        arguments: [
            ("4000000000000002", "card_declined", "generic_decline", "Your card was declined.", true),
            ("4000000000009995", "card_declined", "insufficient_funds", "Your card has insufficient funds.", true),
            ("4000000000009987", "card_declined", "lost_card", "Your card was declined.", true),
            ("4000000000009979", "card_declined", "stolen_card", "Your card was declined.", true),
            ("4000000000000069", "expired_card", "expired_card", "Your card has expired.", true),
            ("4000000000000127", "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", true),
            (
                "4000000000000119", "processing_error", "processing_error",
                "An error occurred while processing your card. Try again in a little bit.", true
            ),
            (
                "4000000000006975", "card_declined", "card_velocity_exceeded",
                "Your card was declined for making repeated attempts too frequently or exceeding its amount limit.",
                true
            ),
            ("4000000000000341", "card_declined", "generic_decline", "Your card was declined.", false),
            ("4100000000000019", "card_declined", "fraudulent", "Your card was declined.", false),
            ("4000000000004954", "card_declined", "fraudulent", "Your card was declined.", false),
            ("4000008400001629", "card_declined", "generic_decline", "Your card was declined.", false),
            ("4000008400001280", "card_declined", "generic_decline", "Your card was declined.", false),
            ("4000008260003178", "card_declined", "insufficient_funds", "Your card has insufficient funds.", false),
        ]
    )
    func declines(number: String, code: String, declineCode: String, message: String, attachFails: Bool) throws {
        let card = try #require(TestCards.card(forNumber: number))
        let expected = CardDecline(code: code, declineCode: declineCode, message: message)
        #expect(card.charge == .decline(expected))
        #expect(card.attach == (attachFails ? .fails(expected) : .succeeds))
    }

    @Test(
        "3-D Secure behaviour",
        arguments: [
            ("4242424242424242", ThreeDSecureBehavior.supportedNotRequired),
            ("378282246310005", .notSupported),
            ("4000002500003155", .requiredUnlessSetUp),
            ("4000002760003184", .alwaysRequired),
            ("4000003800000446", .requiredSetUpForOffSession),
            ("4000008260003178", .requiredSetUpForOffSession),
            ("4000000000003220", .alwaysRequired),
            ("4000000000003063", .alwaysRequired),
            ("4000008400000027", .alwaysRequired),
            ("4000008400001629", .alwaysRequired),
            ("4000008400001280", .lookupFails),
            ("4000000000003055", .supportedNotRequired),
            ("4000000000003097", .supportedNotRequired),
            ("4000000000000002", .supportedNotRequired),
            ("4000002500000003", .supportedNotRequired),
        ]
    )
    func threeDSecure(number: String, behavior: ThreeDSecureBehavior) throws {
        let card = try #require(TestCards.card(forNumber: number))
        #expect(card.threeDSecure == behavior)
        #expect(card.threeDSecure.isSupported == (behavior != .notSupported))
    }

    @Test(
        "On- and off-session outcomes once authentication is settled",
        arguments: [
            ("4242424242424242", false, ChargeBehavior.approve),
            ("4242424242424242", true, .approve),
            ("4000002760003184", false, .approve),
            ("4000008260003178", false, .decline(.insufficientFunds)),
            ("4000008260003178", true, .decline(.insufficientFunds)),
            ("4000000000009995", true, .decline(.insufficientFunds)),
            ("4000000000000341", true, .decline(.genericDecline)),
        ]
    )
    func chargeBehavior(number: String, offSession: Bool, expected: ChargeBehavior) throws {
        let card = try #require(TestCards.card(forNumber: number))
        #expect(card.chargeBehavior(offSession: offSession) == expected)
    }

    @Test(
        "Checks, risk levels and refunds",
        arguments: [
            ("4000000000000101", CheckResult.fail, CheckResult.pass, CheckResult.pass, RiskLevel.normal, true),
            ("4000000000000127", .fail, .pass, .pass, .normal, false),
            ("4000000000000036", .pass, .pass, .fail, .normal, true),
            ("4000000000000028", .pass, .fail, .pass, .normal, true),
            ("4000000000000010", .pass, .fail, .fail, .normal, true),
            ("4000000000000044", .pass, .unavailable, .unavailable, .normal, true),
            ("4000000000009235", .pass, .pass, .pass, .elevated, true),
            ("4000000000004954", .pass, .pass, .pass, .highest, false),
            ("4100000000000019", .pass, .pass, .pass, .highest, false),
            ("4242424242424242", .pass, .pass, .pass, .normal, true),
        ]
    )
    func checks(
        number: String,
        cvc: CheckResult,
        line1: CheckResult,
        postal: CheckResult,
        risk: RiskLevel,
        approves: Bool
    ) throws {
        let card = try #require(TestCards.card(forNumber: number))
        #expect(card.cvcCheck == cvc)
        #expect(card.addressLine1Check == line1)
        #expect(card.addressPostalCodeCheck == postal)
        #expect(card.riskLevel == risk)
        #expect((card.charge == .approve) == approves)
    }

    @Test(
        "Refund behaviour",
        arguments: [
            ("4000000000007726", RefundBehavior.pendingThenSucceeds), ("4000000000005126", .succeedsThenFails),
            ("4242424242424242", .succeeds), ("4000000000000259", .succeeds),
        ]
    )
    func refunds(number: String, refund: RefundBehavior) throws {
        let card = try #require(TestCards.card(forNumber: number))
        #expect(card.refund == refund)
        #expect(card.charge == .approve)
    }

    @Test(
        "Visa country cards carry the ISO 3166 numeric code in digits 7 to 9",
        arguments: [
            ("pm_card_fr", "250"), ("pm_card_de", "276"), ("pm_card_gb", "826"), ("pm_card_it", "380"),
            ("pm_card_jp", "392"), ("pm_card_ie", "372"), ("pm_card_au", "036"), ("pm_card_ca", "124"),
            ("pm_card_br", "076"), ("pm_card_se", "752"),
        ]
    )
    func countryDigits(id: String, numeric: String) throws {
        let card = try #require(TestCards.card(forMagicPaymentMethodID: id))
        #expect(card.number.dropFirst(6).prefix(3) == numeric[...])
    }

    @Test("The live-card and authentication-required declines")
    func specialDeclines() {
        #expect(TestCards.liveModeCardDecline.code == "card_declined")
        #expect(TestCards.liveModeCardDecline.declineCode == "test_mode_live_card")
        #expect(
            TestCards.liveModeCardDecline.message
                == "Your card was declined. Your request was in test mode, but used a non test (live) card. "
                + "For a list of valid test cards, visit: https://stripe.com/docs/testing."
        )
        #expect(TestCards.authenticationRequiredDecline.code == "authentication_required")
        #expect(TestCards.authenticationRequiredDecline.declineCode == "authentication_required")
        #expect(
            TestCards.authenticationRequiredDecline.message
                == "Your card was declined. This transaction requires authentication."
        )
    }
}
