/// What an attempt consumed, for the ledger: successes at the usage the provider
/// reported; failed, cut and cancelled attempts at their reported usage when
/// there is one, else the input estimate plus the output delivered so far —
/// never silently zero once the request may have reached the model.
public enum AttemptCharge {
  /// Failures after which the provider may have processed (and billed) the input.
  static let reachedModel: Set<ReasonCode> = [
    .timeout, .firstTokenTimeout, .streamCut, .streamStalled, .invalidResponse, .cancelled, .deadlineExceeded,
  ]

  /// The charge of a successful attempt.
  public static func success(usage: Usage, info: ModelInfo) -> MicroUSD {
    info.budgetPrices?.cost(of: usage) ?? .zero
  }

  /// The usage to charge a failed or cancelled attempt with.
  /// - Parameters:
  ///   - failure: the failure (nil for a cancellation).
  ///   - inputEstimate: the planner's input estimate for the request.
  ///   - deliveredText: the text the attempt streamed before it ended.
  ///   - deliveredDeltas: how many content deltas it streamed.
  public static func consumedUsage(failure: ProviderFailure?, inputEstimate: Int, deliveredText: String, deliveredDeltas: Int) -> Usage {
    if let u = failure?.usage, u != .zero { return u }
    let reached = deliveredDeltas > 0 || failure.map { $0.afterHeaders || reachedModel.contains($0.reason) } ?? true
    guard reached else { return .zero }
    let out = max(deliveredDeltas, TokenEstimator.estimateTokens(deliveredText))
    return Usage(inputTokens: inputEstimate, outputTokens: out)
  }

  /// The charge of a failed or cancelled attempt (see ``consumedUsage(failure:inputEstimate:deliveredText:deliveredDeltas:)``).
  public static func failed(failure: ProviderFailure?, info: ModelInfo, inputEstimate: Int,
                            deliveredText: String, deliveredDeltas: Int) -> (MicroUSD, Usage) {
    let u = consumedUsage(failure: failure, inputEstimate: inputEstimate, deliveredText: deliveredText, deliveredDeltas: deliveredDeltas)
    return (info.budgetPrices?.cost(of: u) ?? .zero, u)
  }

  /// Settles `reservation` with `amount` in `ledger` and notes the budget side on
  /// the attempt's record: reserved, charged, overage, scopes charged.
  public static func settle(_ ledger: any BudgetLedger, _ reservation: BudgetReservation, amount: MicroUSD,
                            wallMillis: Int64, record: inout AttemptRecord) async -> SettleResult {
    let r = await ledger.settle(reservation, actual: amount, wallMillis: wallMillis)
    record.reservedMicroUSD = reservation.amount.value
    record.chargedMicroUSD = r.charged.value
    record.overageMicroUSD = r.overage > .zero ? r.overage.value : nil
    record.chargedScopes = reservation.scopes.map(\.account)
    return r
  }
}
