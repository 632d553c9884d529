import Testing

@testable import SwitchboardCore

@Suite("FailureClassifier")
struct FailureClassifierTests {
  @Test(arguments: [
    (401, "", "", "", ReasonCode.invalidCredentials),
    (403, "", "", "", .invalidCredentials),
    (402, "", "", "", .quotaExhausted),
    (429, "insufficient_quota", "", "You exceeded your current quota", .quotaExhausted),
    (404, "", "", "", .modelNotFound),
    (400, "model_not_found", "", "", .modelNotFound),
    (408, "", "", "", .timeout),
    (413, "", "", "", .contextLengthExceeded),
    (400, "context_length_exceeded", "", "", .contextLengthExceeded),
    (400, "", "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum", .contextLengthExceeded),
    (400, "content_filter", "", "", .contentPolicy),
    (400, "", "", "flagged by the safety system", .contentPolicy),
    (429, "", "", "", .rateLimited),
    (400, "", "", "", .invalidRequest),
    (422, "", "", "", .invalidRequest),
    (418, "", "", "", .invalidRequest),
    (500, "", "", "", .provider5xx),
    (500, "", "", "quota service down", .provider5xx),
    (502, "", "", "", .provider5xx),
    (503, "", "", "", .provider5xx),
    (529, "", "overloaded_error", "", .provider5xx),
    (302, "", "", "", .invalidResponse),
  ])
  func httpMapping(status: Int, code: String, type: String, message: String, expected: ReasonCode) {
    #expect(FailureClassifier.classify(httpStatus: status, errorCode: code, errorType: type, message: message) == expected)
  }

  @Test(arguments: [
    (ReasonCode.timeout, FailureClass.transient), (.connectFailed, .transient), (.connectionReset, .transient),
    (.provider5xx, .transient), (.rateLimited, .transient), (.streamCut, .transient), (.streamStalled, .transient),
    (.firstTokenTimeout, .transient), (.deadlineExceeded, .transient),
    (.invalidCredentials, .hard), (.modelNotFound, .hard), (.quotaExhausted, .hard), (.missingKey, .hard),
    (.contextLengthExceeded, .semantic), (.contentPolicy, .semantic), (.invalidRequest, .semantic),
    (.invalidResponse, .semantic), (.prefillRejected, .semantic), (.budgetViolation, .semantic),
  ])
  func reasonClasses(reason: ReasonCode, expected: FailureClass) {
    #expect(reason.failureClass == expected)
    #expect(ProviderFailure(reason).failureClass == expected)
  }

  @Test func reasonCodesAreStableLabels() {
    #expect(ReasonCode.contextLengthExceeded.rawValue == "context_length_exceeded")
    #expect(ReasonCode.invalidCredentials.description == "invalid_credentials")
    #expect(ProviderFailure(.rateLimited, httpStatus: 429, message: "slow down").description == "rate_limited (HTTP 429): slow down")
  }
}
