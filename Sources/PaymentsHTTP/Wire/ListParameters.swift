import PaymentsCore

/// Reads the list parameters every list endpoint shares.
enum ListParameters {
    /// `limit`, `starting_after` and `ending_before`, with Stripe's limits.
    static func page(_ params: inout Parameters) throws(PaymentError) -> PageRequest {
        let limit = try params.integer("limit") ?? 10
        guard (1...100).contains(limit) else {
            throw .invalidRequest(
                "Invalid limit: must be between 1 and 100",
                code: "parameter_invalid_integer",
                param: "limit"
            )
        }
        let after = try params.string("starting_after")
        let before = try params.string("ending_before")
        if after != nil && before != nil {
            throw .invalidRequest(
                "You may only specify one of these parameters: ending_before, starting_after.",
                code: "parameters_exclusive",
                param: "ending_before"
            )
        }
        return PageRequest(limit: Int(limit), startingAfter: after, endingBefore: before)
    }

    /// `created` as an integer or `created[gt|gte|lt|lte]`.
    static func created(_ params: inout Parameters) throws(PaymentError) -> CreatedFilter? {
        guard params.has("created") else { return nil }
        if !params.isValue("created"), var range = try params.nested("created") {
            let filter = CreatedFilter(
                gt: try range.integer("gt"),
                gte: try range.integer("gte"),
                lt: try range.integer("lt"),
                lte: try range.integer("lte")
            )
            try range.finish()
            return filter
        }
        return CreatedFilter(equals: try params.integer("created"))
    }
}
