// Exponential backoff with jitter for endpoint cool-downs.
#ifndef SSE_BALANCER_BACKOFF_H_
#define SSE_BALANCER_BACKOFF_H_

namespace sse_balancer {

/// Defaults follow gRPC's connection backoff (1 s, x1.6) with a 30 s cap,
/// full jitter, and a floor so that no endpoint is retried faster than
/// `min_ms` however the jitter falls.
struct BackoffOptions {
  double initial_ms = 1000;
  double multiplier = 1.6;
  double max_ms = 30000;
  /// 1 = full jitter (uniform in (0, base]); 0 = exact delays.
  double jitter = 1.0;
  /// Floor for every delay, and the minimum spacing of retries while every
  /// endpoint is down.
  double min_ms = 250;
  /// A stream open at least this long before failing resets the exponent.
  double reset_after_ms = 60000;
  /// While every endpoint is down (an outage, a deploy restarting them all),
  /// the balancer tries every endpoint in turn (a sweep), then waits before
  /// the next sweep: `initial_ms`, growing by `multiplier`, capped here,
  /// +/-20 % (scaled by `jitter`), as gRPC's connection backoff but with a
  /// short cap, which bounds how long a page stays silent after a backend
  /// returns.
  double max_outage_ms = 2000;
};

/// Wait before sweep `round` + 1 (0 first) while every endpoint is down.
/// `u` is uniform in [0, 1).
double OutageDelayMs(const BackoffOptions& options, int round, double u);

/// The factor every outage wait is jittered by: 1 +/- 20 % x `jitter`,
/// symmetric, so that clients that lost everything together drift apart
/// without any of them waiting much longer than the schedule allows for.
/// `u` is uniform in [0, 1).
inline double OutageJitterFactor(double jitter, double u) {
  return 1.0 + 0.2 * jitter * (2.0 * u - 1.0);
}

/// Upper bound of the random wait before reconnecting to the same endpoint
/// after its healthy stream ended (scaled by `jitter`): enough to spread the
/// clients its server ended at once, small enough to go unnoticed.
inline constexpr double kHealthyEndJitterMs = 50;

/// Cool-down after `attempt` consecutive failures (0 for the first failure).
/// `u` is uniform in [0, 1).
double BackoffDelayMs(const BackoffOptions& options, int attempt, double u);

}  // namespace sse_balancer

#endif  // SSE_BALANCER_BACKOFF_H_
