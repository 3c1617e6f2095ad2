/// The test-mode card network's behaviour table: Stripe's test cards (§6 of `stripe-semantics.md`, from
/// docs.stripe.com/testing) and their magic PaymentMethod ids.
///
/// Cards not in the table fall into two groups the network handles itself: numbers failing Luhn never get this
/// far (`CardNumberError.incorrectNumber`), and any other valid number is a real card, declined with
/// `liveModeCardDecline` as Stripe's test mode does.
public enum TestCards {
    /// Every test card, grouped as in Stripe's testing page. Numbers and magic ids are unique.
    public static let all: [TestCard] =
        byBrand + coBranded + byCountry + declines + radarAndChecks + threeDSecure + otherBehaviours

    /// The card with this number, or nil for a number that is not a test card.
    ///
    /// - Parameter digits: the full number, digits only (as in `CardNumber.digits`).
    public static func card(forNumber digits: String) -> TestCard? {
        cardsByNumber[digits]
    }

    /// The card behind one of Stripe's magic PaymentMethod ids (`pm_card_visa`, `pm_card_chargeDeclined`, …),
    /// or nil when `id` is not one. Ids are case-sensitive, as Stripe's are.
    public static func card(forMagicPaymentMethodID id: String) -> TestCard? {
        cardsByPaymentMethodID[id]
    }

    /// The decline for a real (non-test) card used in test mode.
    public static let liveModeCardDecline = CardDecline(
        code: "card_declined",
        declineCode: "test_mode_live_card",
        message: "Your card was declined. Your request was in test mode, but used a non test (live) card. "
            + "For a list of valid test cards, visit: https://stripe.com/docs/testing."
    )

    /// The decline of an off-session payment that needs 3-D Secure, which cannot happen without the customer.
    public static let authenticationRequiredDecline = CardDecline(
        code: "authentication_required",
        declineCode: "authentication_required",
        message: "Your card was declined. This transaction requires authentication."
    )

    // MARK: - Lookup tables

    /// `all` by card number; built once, on first use.
    private static let cardsByNumber: [String: TestCard] = Dictionary(
        all.map { ($0.number, $0) },
        uniquingKeysWith: { first, _ in first }
    )

    /// `all` by every magic PaymentMethod id; built once, on first use.
    private static let cardsByPaymentMethodID: [String: TestCard] = Dictionary(
        all.flatMap { card in card.paymentMethodIDs.map { ($0, card) } },
        uniquingKeysWith: { first, _ in first }
    )
}

// MARK: - The table

extension TestCards {
    /// Successful cards by brand (billing country US, except JCB and UnionPay, which Stripe issues from Japan and
    /// China and charges cross-border).
    static let byBrand: [TestCard] = [
        TestCard(number: "4242424242424242", brand: .visa, paymentMethodIDs: ["pm_card_visa", "pm_card_us"]),
        TestCard(number: "4000056655665556", brand: .visa, funding: .debit, paymentMethodIDs: ["pm_card_visa_debit"]),
        TestCard(number: "5555555555554444", brand: .mastercard, paymentMethodIDs: ["pm_card_mastercard"]),
        TestCard(number: "2223003122003222", brand: .mastercard),
        TestCard(
            number: "5200828282828210",
            brand: .mastercard,
            funding: .debit,
            paymentMethodIDs: ["pm_card_mastercard_debit"]
        ),
        TestCard(
            number: "5105105105105100",
            brand: .mastercard,
            funding: .prepaid,
            paymentMethodIDs: ["pm_card_mastercard_prepaid"]
        ),
        TestCard(
            number: "378282246310005",
            brand: .amex,
            threeDSecure: .notSupported,
            paymentMethodIDs: ["pm_card_amex", "pm_card_amex_threeDSecureNotSupported"]
        ),
        TestCard(number: "371449635398431", brand: .amex),
        TestCard(number: "6011111111111117", brand: .discover, paymentMethodIDs: ["pm_card_discover"]),
        TestCard(number: "6011000990139424", brand: .discover),
        TestCard(number: "6011981111111113", brand: .discover, funding: .debit),
        TestCard(number: "3056930009020004", brand: .diners, paymentMethodIDs: ["pm_card_diners"]),
        TestCard(number: "36227206271667", brand: .diners),
        TestCard(number: "3566002020360505", brand: .jcb, country: "JP", paymentMethodIDs: ["pm_card_jcb"]),
        TestCard(number: "6200000000000005", brand: .unionpay, country: "CN", paymentMethodIDs: ["pm_card_unionpay"]),
        TestCard(number: "6200000000000047", brand: .unionpay, funding: .debit, country: "CN"),
        TestCard(number: "6205500000000000004", brand: .unionpay, country: "CN"),
    ]

    /// Cartes Bancaires (France) and eftpos (Australia) co-branded cards. Their `brand` is the global network
    /// the number belongs to; the local network would appear only in `networks.available`.
    static let coBranded: [TestCard] = [
        TestCard(
            number: "4000002500001001",
            brand: .visa,
            country: "FR",
            paymentMethodIDs: ["pm_card_visa_cartesBancaires"]
        ),
        TestCard(
            number: "5555552500001001",
            brand: .mastercard,
            country: "FR",
            paymentMethodIDs: ["pm_card_mastercard_cartesBancaires"]
        ),
        TestCard(
            number: "4000050360000001",
            brand: .visa,
            funding: .debit,
            country: "AU",
            paymentMethodIDs: ["pm_card_visa_debit_eftposAuCoBranded"]
        ),
        TestCard(
            number: "5555050360000080",
            brand: .mastercard,
            funding: .debit,
            country: "AU",
            paymentMethodIDs: ["pm_card_mastercard_debit_eftposAuCoBranded"]
        ),
    ]

    /// Successful cards by issuing country (the US one is `4242…` in `byBrand`). European cards here succeed
    /// without authentication.
    static let byCountry: [TestCard] = [
        // Americas
        country("4000000320000021", "AR", id: "pm_card_ar"),
        country("4000000760000002", "BR", id: "pm_card_br"),
        country("4000001240000000", "CA", id: "pm_card_ca"),
        country("4000001520000001", "CL", id: "pm_card_cl"),
        country("4000001700000003", "CO", id: "pm_card_co"),
        country("4000001880000005", "CR", id: "pm_card_cr"),
        country("4000002180000000", "EC", id: "pm_card_ec"),
        country("4000004840008001", "MX", id: "pm_card_mx"),
        country("4000005910000000", "PA", id: "pm_card_pa"),
        country("4000006000000066", "PY", id: "pm_card_py"),
        country("4000006040000068", "PE", id: "pm_card_pe"),
        country("4000008580000003", "UY", id: "pm_card_uy"),
        // Europe and the Middle East
        country("4000007840000001", "AE", id: "pm_card_ae"),
        country("5200007840000022", "AE", brand: .mastercard, id: "pm_card_ae_mastercard"),
        country("4000000400000008", "AT", id: "pm_card_at"),
        country("4000000560000004", "BE", id: "pm_card_be"),
        country("4000001000000000", "BG", id: "pm_card_bg"),
        country("4000001120000005", "BY", id: "pm_card_by"),
        country("4000001910000009", "HR", id: "pm_card_hr"),
        country("4000001960000008", "CY", id: "pm_card_cy"),
        country("4000002030000002", "CZ", id: "pm_card_cz"),
        country("4000002080000001", "DK", id: "pm_card_dk"),
        country("4000002330000009", "EE", id: "pm_card_ee"),
        country("4000002460000001", "FI", id: "pm_card_fi"),
        country("4000002500000003", "FR", id: "pm_card_fr"),
        country("4000002760000016", "DE", id: "pm_card_de"),
        country("4000002920000005", "GI", id: "pm_card_gi"),
        country("4000003000000030", "GR", id: "pm_card_gr"),
        country("4000003480000005", "HU", id: "pm_card_hu"),
        country("4000003720000005", "IE", id: "pm_card_ie"),
        country("4000003800000008", "IT", id: "pm_card_it"),
        country("4000004280000005", "LV", id: "pm_card_lv"),
        country("4000004380000004", "LI", id: "pm_card_li"),
        country("4000004400000000", "LT", id: "pm_card_lt"),
        country("4000004420000006", "LU", id: "pm_card_lu"),
        country("4000004700000007", "MT", id: "pm_card_mt"),
        country("4000005280000002", "NL", id: "pm_card_nl"),
        country("4000005780000007", "NO", id: "pm_card_no"),
        country("4000006160000005", "PL", id: "pm_card_pl"),
        country("4000006200000007", "PT", id: "pm_card_pt"),
        country("4000006420000001", "RO", id: "pm_card_ro"),
        country("4000006820000007", "SA", id: nil),
        country("4000007050000006", "SI", id: "pm_card_si"),
        country("4000007030000001", "SK", id: "pm_card_sk"),
        country("4000007240000007", "ES", id: "pm_card_es"),
        country("4000007520000008", "SE", id: "pm_card_se"),
        country("4000007560000009", "CH", id: "pm_card_ch"),
        country("4000008260000000", "GB", id: "pm_card_gb"),
        country("4000058260000005", "GB", funding: .debit, id: "pm_card_gb_debit"),
        country("5555558265554449", "GB", brand: .mastercard, id: "pm_card_gb_mastercard"),
        // Asia-Pacific
        country("4000000360000006", "AU", id: "pm_card_au"),
        country("4000001560000002", "CN", id: "pm_card_cn"),
        country("4000003440000004", "HK", id: "pm_card_hk"),
        country("4000003560000008", "IN", id: "pm_card_in"),
        country("4000003920000003", "JP", id: "pm_card_jp"),
        country("3530111333300000", "JP", brand: .jcb, id: nil),
        country("4000004580000002", "MY", id: "pm_card_my"),
        country("4000005540000008", "NZ", id: "pm_card_nz"),
        country("4000007020000003", "SG", id: "pm_card_sg"),
        country("4000001580000008", "TW", id: "pm_card_tw"),
        country("4000007640000003", "TH", id: "pm_card_th_credit"),
        country("4000057640000008", "TH", funding: .debit, id: "pm_card_th_debit"),
    ]

    /// Issuer declines. All but `…0341` also fail to attach to a Customer, with the same error. The ids without
    /// `visa_` (or with it, for the expired/CVC/processing cards) are older aliases Stripe still accepts.
    ///
    /// `…0127`'s `incorrect_cvc` decline applies only when a CVC was given (Stripe skips the check otherwise);
    /// the table states the decline and the issuer (`TestModeIssuer`) applies that condition.
    static let declines: [TestCard] = [
        decline(
            "4000000000000002",
            .genericDecline,
            ids: ["pm_card_visa_chargeDeclined", "pm_card_chargeDeclined"]
        ),
        decline(
            "4000000000009995",
            .insufficientFunds,
            ids: ["pm_card_visa_chargeDeclinedInsufficientFunds", "pm_card_chargeDeclinedInsufficientFunds"]
        ),
        decline(
            "4000000000009987",
            .lostCard,
            ids: ["pm_card_visa_chargeDeclinedLostCard", "pm_card_chargeDeclinedLostCard"]
        ),
        decline(
            "4000000000009979",
            .stolenCard,
            ids: ["pm_card_visa_chargeDeclinedStolenCard", "pm_card_chargeDeclinedStolenCard"]
        ),
        decline(
            "4000000000000069",
            .expiredCard,
            ids: ["pm_card_chargeDeclinedExpiredCard", "pm_card_visa_chargeDeclinedExpiredCard"]
        ),
        decline(
            "4000000000000127",
            .incorrectCVC,
            cvcCheck: .fail,
            ids: ["pm_card_chargeDeclinedIncorrectCvc", "pm_card_visa_chargeDeclinedIncorrectCvc"]
        ),
        decline(
            "4000000000000119",
            .processingError,
            ids: ["pm_card_chargeDeclinedProcessingError", "pm_card_visa_chargeDeclinedProcessingError"]
        ),
        decline(
            "4000000000006975",
            .velocityExceeded,
            ids: [
                "pm_card_visa_chargeDeclinedVelocityLimitExceeded", "pm_card_chargeDeclinedVelocityLimitExceeded",
            ]
        ),
        // Attaches fine; every charge fails.
        TestCard(
            number: "4000000000000341",
            brand: .visa,
            charge: .decline(.genericDecline),
            paymentMethodIDs: ["pm_card_chargeCustomerFail", "pm_card_visa_chargeCustomerFail"]
        ),
    ]

    /// Radar risk levels and verification checks.
    ///
    /// Our Radar applies Stripe's default rule "block if risk level is highest": `…0019` and `…4954` decline with
    /// `card_declined`/`fraudulent`. Radar rules act on payments, not on attaching, so both attach fine. The CVC
    /// and address check cards only report their checks; no rule blocks on them.
    static let radarAndChecks: [TestCard] = [
        TestCard(
            number: "4100000000000019",
            brand: .visa,
            charge: .decline(.fraudulent),
            riskLevel: .highest,
            paymentMethodIDs: [
                "pm_card_radarBlock", "pm_card_chargeDeclinedFraudulent", "pm_card_visa_chargeDeclinedFraudulent",
            ]
        ),
        TestCard(
            number: "4000000000004954",
            brand: .visa,
            charge: .decline(.fraudulent),
            riskLevel: .highest,
            paymentMethodIDs: ["pm_card_riskLevelHighest"]
        ),
        TestCard(
            number: "4000000000009235",
            brand: .visa,
            riskLevel: .elevated,
            paymentMethodIDs: ["pm_card_riskLevelElevated"]
        ),
        TestCard(number: "4000000000000101", brand: .visa, cvcCheck: .fail, paymentMethodIDs: ["pm_card_cvcCheckFail"]),
        TestCard(
            number: "4000000000000036",
            brand: .visa,
            addressPostalCodeCheck: .fail,
            paymentMethodIDs: ["pm_card_avsZipFail"]
        ),
        TestCard(
            number: "4000000000000028",
            brand: .visa,
            addressLine1Check: .fail,
            paymentMethodIDs: ["pm_card_avsLine1Fail"]
        ),
        TestCard(
            number: "4000000000000010",
            brand: .visa,
            addressLine1Check: .fail,
            addressPostalCodeCheck: .fail,
            paymentMethodIDs: ["pm_card_avsFail"]
        ),
        TestCard(
            number: "4000000000000044",
            brand: .visa,
            addressLine1Check: .unavailable,
            addressPostalCodeCheck: .unavailable,
            paymentMethodIDs: ["pm_card_avsUnchecked"]
        ),
    ]

    /// 3-D Secure cards (§6.4). The issuing country follows digits 7–9 of the number (ISO 3166 numeric) where
    /// they name one; `…3220` is Ireland-issued per Stripe.
    static let threeDSecure: [TestCard] = [
        TestCard(
            number: "4000002500003155",
            brand: .visa,
            country: "FR",
            threeDSecure: .requiredUnlessSetUp,
            paymentMethodIDs: ["pm_card_authenticationRequiredOnSetup"]
        ),
        TestCard(
            number: "4000002760003184",
            brand: .visa,
            country: "DE",
            threeDSecure: .alwaysRequired,
            paymentMethodIDs: ["pm_card_authenticationRequired"]
        ),
        TestCard(
            number: "4000003800000446",
            brand: .visa,
            country: "IT",
            threeDSecure: .requiredSetUpForOffSession,
            paymentMethodIDs: ["pm_card_authenticationRequiredSetupForOffSession"]
        ),
        // Challenges on-session, then declines; off-session it declines the same way without asking for
        // authentication ("declined even after being successfully authenticated or previously set up"), which is
        // exactly `.requiredSetUpForOffSession` followed by an insufficient-funds decline.
        TestCard(
            number: "4000008260003178",
            brand: .visa,
            country: "GB",
            threeDSecure: .requiredSetUpForOffSession,
            charge: .decline(.insufficientFunds),
            offSessionCharge: .decline(.insufficientFunds),
            paymentMethodIDs: ["pm_card_authenticationRequiredChargeDeclinedInsufficientFunds"]
        ),
        TestCard(
            number: "4000000000003220",
            brand: .visa,
            country: "IE",
            threeDSecure: .alwaysRequired,
            paymentMethodIDs: ["pm_card_threeDSecure2Required"]
        ),
        TestCard(number: "4000008400000027", brand: .visa, threeDSecure: .alwaysRequired),
        TestCard(
            number: "4000000000003063",
            brand: .visa,
            threeDSecure: .alwaysRequired,
            paymentMethodIDs: ["pm_card_threeDSecureRequired"]
        ),
        TestCard(
            number: "4000008400001629",
            brand: .visa,
            threeDSecure: .alwaysRequired,
            charge: .decline(.genericDecline),
            paymentMethodIDs: ["pm_card_threeDSecureRequiredChargeDeclined"]
        ),
        // The lookup fails with a processing error and the payment declines `card_declined` before any challenge.
        TestCard(
            number: "4000008400001280",
            brand: .visa,
            threeDSecure: .lookupFails,
            charge: .decline(.genericDecline),
            paymentMethodIDs: ["pm_card_threeDSecureRequiredProcessingError"]
        ),
        TestCard(
            number: "4000000000003055",
            brand: .visa,
            paymentMethodIDs: ["pm_card_threeDSecureOptional"]
        ),
        // 3-D Secure attempts would error, but nothing requests one, so payments succeed.
        TestCard(
            number: "4000000000003097",
            brand: .visa,
            paymentMethodIDs: ["pm_card_threeDSecureOptionalProcessingError"]
        ),
    ]

    /// Cards whose payments succeed and whose special effect is elsewhere: balance, disputes, refunds.
    /// Disputes are outside this service, so those cards are plain successes here.
    static let otherBehaviours: [TestCard] = [
        TestCard(number: "4000000000000077", brand: .visa, paymentMethodIDs: ["pm_card_bypassPending"]),
        TestCard(
            number: "4000003720000278",
            brand: .visa,
            country: "IE",
            paymentMethodIDs: ["pm_card_bypassPendingInternational"]
        ),
        TestCard(number: "4000000000000259", brand: .visa, paymentMethodIDs: ["pm_card_createDispute"]),
        TestCard(
            number: "4000000000002685",
            brand: .visa,
            paymentMethodIDs: ["pm_card_createDisputeProductNotReceived"]
        ),
        TestCard(number: "4000000000001976", brand: .visa, paymentMethodIDs: ["pm_card_createDisputeInquiry"]),
        TestCard(number: "4000000000005423", brand: .visa, paymentMethodIDs: ["pm_card_createIssuerFraudRecord"]),
        TestCard(
            number: "4000000000007726",
            brand: .visa,
            refund: .pendingThenSucceeds,
            paymentMethodIDs: ["pm_card_pendingRefund"]
        ),
        TestCard(
            number: "4000000000005126",
            brand: .visa,
            refund: .succeedsThenFails,
            paymentMethodIDs: ["pm_card_refundFail"]
        ),
    ]

    // MARK: - Row builders

    /// A successful credit card issued in `country`.
    private static func country(
        _ number: String,
        _ country: String,
        brand: CardBrand = .visa,
        funding: CardFunding = .credit,
        id: String?
    ) -> TestCard {
        TestCard(
            number: number,
            brand: brand,
            funding: funding,
            country: country,
            paymentMethodIDs: id.map { [$0] } ?? []
        )
    }

    /// A US Visa credit card whose charges and attaches both fail with `decline`.
    private static func decline(
        _ number: String,
        _ decline: CardDecline,
        cvcCheck: CheckResult = .pass,
        ids: [String]
    ) -> TestCard {
        TestCard(
            number: number,
            brand: .visa,
            charge: .decline(decline),
            attach: .fails(decline),
            cvcCheck: cvcCheck,
            paymentMethodIDs: ids
        )
    }
}
