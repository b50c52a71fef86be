// One endpoint's health: backoff, cool-down, ejection and probation.
#ifndef SSE_BALANCER_ENDPOINT_HEALTH_H_
#define SSE_BALANCER_ENDPOINT_HEALTH_H_

namespace sse_balancer {

/// Kept beside the policy, as gRPC keeps an endpoint's outlier-detection
/// state: the Balancer records what happened ("failed at t", "ejected until
/// t", "streamed healthily") and asks whether the endpoint may take a
/// connection. Time-based ends (a cool-down or an ejection running out) take
/// effect in RefreshAt(now), which the Balancer calls before it decides or
/// reports; every other method is a plain query or a record of an outcome.
class EndpointHealth {
 public:
  enum class Status { kUp, kCoolingDown, kEjected };

  Status status() const { return status_; }
  bool up() const { return status_ == Status::kUp; }
  /// Back from an ejection and not yet healthy again: preferred last, and
  /// its next failure ejects it again at once.
  bool probation() const { return probation_; }
  /// Consecutive failures since it last streamed healthily; the exponent of
  /// its next backoff.
  int backoff_attempt() const { return backoff_attempt_; }
  /// Failures since it last streamed healthily (resetBackoffAfterMs).
  int consecutive_failures() const { return consecutive_failures_; }
  /// While cooling down (and ejected): the end of its backoff.
  double cooldown_until_ms() const { return cooldown_until_ms_; }
  /// While ejected: the end of its ejection.
  double ejected_until_ms() const { return ejected_until_ms_; }

  /// Ends a cool-down whose time is up at `now_ms`, and an ejection whose
  /// time is up (an ejected endpoint comes back on probation). With `panic`
  /// (no endpoint is otherwise eligible), an ejection ends as soon as the
  /// endpoint's cool-down has.
  void RefreshAt(double now_ms, bool panic = false);
  /// Milliseconds until it may take a connection again (0 when up).
  double RetryInMs(double now_ms) const;
  /// Whether its ejection still runs at `now_ms` (the ejected share).
  bool EjectedAt(double now_ms) const;

  /// A failure at `now_ms`: it cools down for `delay_ms`.
  void FailedAt(double now_ms, double delay_ms);
  /// Ejected until `until_ms` (after FailedAt).
  void EjectUntil(double until_ms);
  /// It streamed healthily: its backoff starts afresh and it is trusted again.
  void Recovered();
  /// Cool-downs, and with `ejections` ejections too, end now: failures
  /// seen while offline, or before the user came back, say little.
  void Forget(bool ejections);
  /// A connection to it starts while it is still ejected (an outage sweep, a
  /// panic pick): the ejection ends, on probation.
  void ReturnEarly();
  /// Its server said it goes away (a drain): left alone until `until_ms`,
  /// as a cool-down that counts no failure.
  void RestUntil(double until_ms);

 private:
  Status status_ = Status::kUp;
  bool probation_ = false;
  int backoff_attempt_ = 0;
  int consecutive_failures_ = 0;
  double cooldown_until_ms_ = 0;
  double ejected_until_ms_ = 0;
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_ENDPOINT_HEALTH_H_
