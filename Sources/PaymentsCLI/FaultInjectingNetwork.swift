import Foundation
import PaymentsCore

/// Crash-test support: kills the process at a named point so tests can check that nothing is charged twice
/// or lost. Active only when `PAYMENTS_FAULT_POINT` is set, which only the crash tests do.
///
/// Points: `after-network` (the network has answered and recorded the charge; our commit has not happened).
struct FaultInjectingNetwork: CardNetwork {
    let base: any CardNetwork
    let faultPoint: String

    /// Wraps `network` when a fault point is set.
    static func wrap(_ network: any CardNetwork, faultPoint: String?) -> any CardNetwork {
        guard let faultPoint, !faultPoint.isEmpty else { return network }
        return FaultInjectingNetwork(base: network, faultPoint: faultPoint)
    }

    func authorize(_ request: AuthorizationRequest) async throws -> AuthorizationResult {
        let result = try await base.authorize(request)
        if faultPoint == "after-network" { Self.die(faultPoint) }
        return result
    }

    func capture(attemptID: String, amount: Int64) async throws {
        try await base.capture(attemptID: attemptID, amount: amount)
    }

    func void(attemptID: String) async throws {
        try await base.void(attemptID: attemptID)
    }

    func refund(attemptID: String, refundID: String, amount: Int64) async throws {
        try await base.refund(attemptID: attemptID, refundID: refundID, amount: amount)
    }

    /// Dies at once, as SIGKILL would: no cleanup, no flush.
    static func die(_ point: String) -> Never {
        FileHandle.standardError.write(Data("fault injected at \(point)\n".utf8))
        kill(getpid(), SIGKILL)
        exit(137)
    }
}
