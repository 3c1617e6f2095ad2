import PaymentsCore

/// The `refunds` member of a charge's event snapshot: the first page of the charge's refunds right after the change,
/// newest first, so the event renders the charge's `refunds` list as `GET /v1/charges/:id` did then.
///
/// Only a charge a refund has reserved an amount on carries it (see ``EventRecordingTransaction``); a snapshot
/// without it (every other charge, and events recorded before it was kept) has no refunds to show.
struct ChargeSnapshotRefunds: Codable, Sendable {
    var data: [Refund]
    var hasMore: Bool

    enum CodingKeys: String, CodingKey {
        case data
        case hasMore = "has_more"
    }

    /// The snapshot's member, beside the charge's own fields.
    private struct Member: Decodable {
        var refunds: ChargeSnapshotRefunds?
    }

    /// The refunds the charge snapshot `snapshot` carries, or an empty page when it carries none.
    static func page(in snapshot: [UInt8]) throws -> Page<Refund> {
        guard let refunds = try Event.decode(snapshot, as: Member.self).refunds else {
            return Page(items: [], hasMore: false)
        }
        return Page(items: refunds.data, hasMore: refunds.hasMore)
    }
}

extension Event {
    /// The first page of a charge's refunds, newest first, as they stood right after the change this event records:
    /// what its `data.object.refunds` lists. Empty for an event of another object, and for a charge nothing refunded.
    /// - Parameter snapshot: ``snapshot`` or ``previousSnapshot``.
    public static func chargeRefunds(in snapshot: [UInt8]) throws -> Page<Refund> {
        try ChargeSnapshotRefunds.page(in: snapshot)
    }
}
