// What the fleet simulations share (fleet_sim.cc: failures and restarts;
// fleet_drain_sim.cc: a rolling restart with drains): the event queue's
// entries, a Host that forwards every call to the simulation with the
// client's index, a client's pending timers, and the figures' helpers.
#ifndef SSE_BALANCER_TESTS_BENCH_SIM_COMMON_H_
#define SSE_BALANCER_TESTS_BENCH_SIM_COMMON_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "host.h"
#include "types.h"

namespace sse_balancer {
namespace sim {

/// One entry of the discrete-event queue; equal times keep push order.
template <class Kind>
struct Event {
  double t;
  std::uint64_t seq;
  Kind kind;
  std::uint32_t client;
  std::uint32_t arg;  // timer id, connection index or backend
};

/// A simulated EventSource's state.
enum class ConnState : std::uint8_t { kConnecting, kOpen, kFailed, kClosed };

/// One simulated connection: whose, the Balancer's id for it, where to.
struct Conn {
  std::uint32_t client;
  ConnectionId id;
  std::uint16_t backend;
  ConnState state;
};

/// The std::priority_queue order that pops the earliest event first.
struct Later {
  template <class Kind>
  bool operator()(const Event<Kind>& a, const Event<Kind>& b) const {
    return a.t != b.t ? a.t > b.t : a.seq > b.seq;
  }
};

/// Client `client`'s Host: every call goes to the simulation `Sim`, which
/// has OpenConnection(client, id, endpoint), CloseConnection(client, id),
/// StartTimer(client, id, ms), CancelTimer(client, id), now(),
/// NotifyOpen(client), NotifyError(client), NotifyFailover(client, reason).
template <class Sim>
class ClientHost final : public Host {
 public:
  ClientHost(Sim* sim, std::uint32_t client) : sim_(sim), client_(client) {}
  void OpenConnection(ConnectionId id, std::size_t endpoint,
                      const std::string& /*url*/) override {
    sim_->OpenConnection(client_, id, endpoint);
  }
  void CloseConnection(ConnectionId id) override {
    sim_->CloseConnection(client_, id);
  }
  void StartTimer(TimerId id, double delay_ms) override {
    sim_->StartTimer(client_, id, delay_ms);
  }
  void CancelTimer(TimerId id) override { sim_->CancelTimer(client_, id); }
  double NowMs() override { return sim_->now(); }
  void NotifyOpen(std::size_t /*endpoint*/) override {
    sim_->NotifyOpen(client_);
  }
  void NotifyError(std::size_t /*endpoint*/,
                   FailureReason /*reason*/) override {
    sim_->NotifyError(client_);
  }
  void NotifyFailover(std::optional<std::size_t> /*from*/, std::size_t /*to*/,
                      FailureReason reason) override {
    sim_->NotifyFailover(client_, reason);
  }

 private:
  Sim* sim_;
  std::uint32_t client_;
};

/// A client's timers that are started and neither fired nor cancelled.
class PendingTimers {
 public:
  void Add(TimerId id) { ids_.push_back(id); }
  /// Forgets `id`; false if it was not pending (a contract error when
  /// cancelling, a cancelled timer when firing).
  bool Take(TimerId id) {
    const auto it = std::find(ids_.begin(), ids_.end(), id);
    if (it == ids_.end()) return false;
    ids_.erase(it);
    return true;
  }

 private:
  std::vector<TimerId> ids_;
};

/// The flags both simulations take: --out FILE, --clients N, --seed S.
/// Returns false (after printing the usage) on anything else or N < 1.
inline bool ParseFlags(int argc, char** argv, std::string& out_path,
                       int& clients, std::uint64_t& seed) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--out" && i + 1 < argc) {
      out_path = argv[++i];
    } else if (arg == "--clients" && i + 1 < argc) {
      clients = std::atoi(argv[++i]);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: %s [--out FILE] [--clients N] [--seed S]\n",
                   argv[0]);
      return false;
    }
  }
  if (clients < 1) {
    std::fprintf(stderr, "--clients must be at least 1\n");
    return false;
  }
  return true;
}

/// splitmix64's finaliser: a well-spread 64-bit value from a counter.
inline std::uint64_t Mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// Nearest rank: the smallest value with at least q of them at or below.
inline double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  std::size_t rank = static_cast<std::size_t>(
      std::ceil(q * static_cast<double>(values.size())));
  rank = std::max<std::size_t>(rank, 1);
  return values[std::min(rank, values.size()) - 1];
}

}  // namespace sim
}  // namespace sse_balancer

#endif  // SSE_BALANCER_TESTS_BENCH_SIM_COMMON_H_
