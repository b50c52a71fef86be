// Fleet simulation of a rolling restart: 10,000 clients, each a real
// sse_balancer::Balancer with its own seed, streaming one log from 10
// simulated backends that are restarted one after the other, as a deploy
// does it: each is told to drain, goes down `drain_ms` later, and comes
// back `down_ms` after that; then the next one drains. Deterministic: the
// same flags give the same JSON on the same platform.
//
// The model (simulated ms; every figure is also in the JSON):
//   - one discrete-event queue for every client's timers, connection
//     outcomes, the log's events and the backends' restarts;
//   - the log publishes event n every `event_every_ms`; every open stream
//     delivers it after that stream's own path latency (uniform in [1, 10]
//     ms, fixed per connection); a stream opened with a resume id first
//     replays everything after it;
//   - a connection opens after a latency uniform in [2, 20] ms, or is
//     refused after [0.5, 1.5] ms when its backend is down;
//   - a drain notice (`sse-balancer.drain`) or a reset reaches the browser
//     after [0.5, 5] ms; a stream that opens on a draining backend is told at
//     once, as the reference server does;
//   - an attempt is one Host::OpenConnection call, in 100 ms buckets per
//     backend.
//
// Figures: lost and repeated ids per client (delivered ids must go up by
// one), the longest gap between two deliveries per client during the
// restart, errors the page would see, and the attempt storm on the
// survivors while each backend drains.
//
// Usage: fleet_drain_sim [--out FILE] [--clients N] [--seed S]
// Exits 1 if the Host contract was broken, never on a figure.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "balancer.h"
#include "policy_registry.h"
#include "rng.h"
#include "sim_common.h"
#include "types.h"

namespace sse_balancer {
namespace fleet_drain {
namespace {

struct Model {
  int clients = 10000;
  int backends = 10;
  std::uint64_t seed = 20261201;
  double start_spread_ms = 1000;
  double event_every_ms = 20;
  double latency_min_ms = 1;
  double latency_max_ms = 10;
  double connect_min_ms = 2;
  double connect_max_ms = 20;
  double refuse_min_ms = 0.5;
  double refuse_max_ms = 1.5;
  double notice_min_ms = 0.5;
  double notice_max_ms = 5;
  double restart_at_ms = 10000;
  double drain_ms = 5000;
  double down_ms = 1000;
  double tail_ms = 5000;
  double bucket_ms = 100;
  double window_ms = 1000;  // the storm figure's window

  double end_ms() const {
    return restart_at_ms + backends * (drain_ms + down_ms) + tail_ms;
  }
};

enum class Kind : std::uint8_t {
  kStart,
  kTimer,
  kOpenDone,
  kRefused,
  kReset,
  kTick,
  kDrain,
  kDrainNotice,
  kDown,
  kUp,
};

using Event = sim::Event<Kind>;

using sim::ConnState;

struct Conn : sim::Conn {
  double latency_ms;
  long resume;  // the last id the client had when it opened; -1: none
};

class Sim;
using SimHost = sim::ClientHost<Sim>;

struct Client {
  std::unique_ptr<SimHost> host;
  std::unique_ptr<Balancer> balancer;
  std::vector<std::uint32_t> conns;  // open or connecting, at most 2
  sim::PendingTimers timers;
  long last_id = -1;
  double last_at = -1;
  double max_gap_ms = 0;  // during the restart
  long lost = 0;
  long repeated = 0;
  long errors = 0;
};

struct Result {
  std::string policy;
  std::vector<double> max_gaps;  // per client
  long lost = 0;
  long repeated = 0;
  long clients_with_loss = 0;
  long errors = 0;
  long drain_moves = 0;
  long other_failovers = 0;
  long host_errors = 0;
  long delivered = 0;
  // attempts[backend][bucket]
  std::vector<std::vector<double>> attempts;
  std::vector<double> phase_start_ms;  // backend k starts draining
};

class Sim {
 public:
  Sim(const Model& model, std::string policy)
      : model_(model), rng_(model.seed ^ 0xd7a1) {
    result_.policy = std::move(policy);
    buckets_ = static_cast<std::size_t>(model.end_ms() / model.bucket_ms) + 1;
    result_.attempts.assign(static_cast<std::size_t>(model.backends),
                            std::vector<double>(buckets_, 0.0));
    up_.assign(static_cast<std::size_t>(model.backends), true);
    drain_until_.assign(static_cast<std::size_t>(model.backends), -1.0);
  }

  Result Run() {
    StartClients();
    Push(0, Kind::kTick, 0, 0);
    Push(model_.restart_at_ms, Kind::kDrain, 0, 0);
    while (!queue_.empty() && queue_.top().t <= model_.end_ms()) {
      const Event e = queue_.top();
      queue_.pop();
      now_ = e.t;
      Dispatch(e);
    }
    now_ = model_.end_ms();
    for (Client& c : clients_) {
      // A client that stopped receiving is seen too: what it never got is
      // lost, and the time since its last delivery is a gap.
      if (c.last_id >= 0) {
        c.lost += published_ - c.last_id;
        c.max_gap_ms = std::max(c.max_gap_ms, now_ - c.last_at);
      } else {
        c.lost += published_;
        c.max_gap_ms = now_;
      }
      result_.max_gaps.push_back(c.max_gap_ms);
      result_.lost += c.lost;
      result_.repeated += c.repeated;
      result_.clients_with_loss += c.lost + c.repeated > 0 ? 1 : 0;
      result_.errors += c.errors;
    }
    return std::move(result_);
  }

  // Host calls, for SimHost.
  void OpenConnection(std::uint32_t client, ConnectionId id,
                      std::size_t backend) {
    Client& c = clients_[client];
    if (c.conns.size() >= 2) ++result_.host_errors;  // active + standby
    result_.attempts[backend][Bucket(now_)] += 1;
    const auto index = static_cast<std::uint32_t>(conns_.size());
    conns_.push_back({{client, id, static_cast<std::uint16_t>(backend),
                       ConnState::kConnecting},
                      Uniform(model_.latency_min_ms, model_.latency_max_ms),
                      c.last_id});
    c.conns.push_back(index);
    if (up_[backend]) {
      Push(now_ + Uniform(model_.connect_min_ms, model_.connect_max_ms),
           Kind::kOpenDone, client, index);
    } else {
      Push(now_ + Uniform(model_.refuse_min_ms, model_.refuse_max_ms),
           Kind::kRefused, client, index);
    }
  }

  void CloseConnection(std::uint32_t client, ConnectionId id) {
    std::vector<std::uint32_t>& open = clients_[client].conns;
    const auto it = std::find_if(open.begin(), open.end(),
                                 [&](auto k) { return conns_[k].id == id; });
    if (it == open.end()) {
      ++result_.host_errors;
      return;
    }
    conns_[*it].state = ConnState::kClosed;
    open.erase(it);
  }

  void StartTimer(std::uint32_t client, TimerId id, double delay_ms) {
    if (!(delay_ms >= 0)) ++result_.host_errors;
    clients_[client].timers.Add(id);
    Push(now_ + std::max(0.0, delay_ms), Kind::kTimer, client, id);
  }

  void CancelTimer(std::uint32_t client, TimerId id) {
    if (!clients_[client].timers.Take(id)) ++result_.host_errors;
  }

  double now() const { return now_; }

  void NotifyOpen(std::uint32_t /*client*/) {}

  void NotifyError(std::uint32_t client) {
    if (now_ >= model_.restart_at_ms) ++clients_[client].errors;
  }

  void NotifyFailover(std::uint32_t /*client*/, FailureReason reason) {
    if (now_ < model_.restart_at_ms) return;
    if (reason == FailureReason::kDrain) {
      ++result_.drain_moves;
    } else {
      ++result_.other_failovers;
    }
  }

 private:
  void StartClients() {
    std::vector<std::string> urls;
    for (int b = 0; b < model_.backends; ++b) {
      urls.push_back("https://sse-" + std::to_string(b) +
                     ".example.com/events");
    }
    clients_.resize(static_cast<std::size_t>(model_.clients));
    for (std::uint32_t i = 0; i < clients_.size(); ++i) {
      Client& c = clients_[i];
      c.host = std::make_unique<SimHost>(this, i);
      BalancerOptions options;  // the library's defaults
      options.seed = sim::Mix(model_.seed * 1000003 + i);
      c.balancer = std::make_unique<Balancer>(
          urls, options, MakePolicy(result_.policy), *c.host);
      Push(Uniform(0, model_.start_spread_ms), Kind::kStart, i, 0);
    }
  }

  void Push(double t, Kind kind, std::uint32_t client, std::uint32_t arg) {
    queue_.push({t, seq_++, kind, client, arg});
  }

  double Uniform(double lo, double hi) {
    return lo + (hi - lo) * rng_.Uniform01();
  }

  std::size_t Bucket(double t) const {
    return std::min(buckets_ - 1,
                    static_cast<std::size_t>(t / model_.bucket_ms));
  }

  const std::string& IdText(long n) {
    while (static_cast<long>(ids_.size()) <= n) {
      ids_.push_back(std::to_string(ids_.size()));
    }
    return ids_[static_cast<std::size_t>(n)];
  }

  // Event n through connection k, arriving at `at`.
  void Deliver(std::uint32_t k, long n, double at) {
    Conn& conn = conns_[k];
    if (conn.state != ConnState::kOpen) return;
    Client& c = clients_[conn.client];
    if (!c.balancer->OnMessage(conn.id, IdText(n))) return;
    ++result_.delivered;
    if (c.last_id >= 0) {
      if (n > c.last_id + 1) c.lost += n - c.last_id - 1;
      if (n <= c.last_id) ++c.repeated;
      const double gap = at - c.last_at;
      if (at >= model_.restart_at_ms)
        c.max_gap_ms = std::max(c.max_gap_ms, gap);
    }
    c.last_id = std::max(c.last_id, n);
    c.last_at = std::max(c.last_at, at);
  }

  // The log's next event: every open stream delivers it after its latency,
  // the faster of a client's two streams first.
  void Tick() {
    const long n = ++published_;
    for (Client& c : clients_) {
      if (c.conns.size() == 1) {
        Deliver(c.conns[0], n, now_ + conns_[c.conns[0]].latency_ms);
        continue;
      }
      if (c.conns.size() != 2) continue;
      // A delivery may close the other stream: decide the order first.
      std::uint32_t a = c.conns[0];
      std::uint32_t b = c.conns[1];
      if (conns_[b].latency_ms < conns_[a].latency_ms) std::swap(a, b);
      Deliver(a, n, now_ + conns_[a].latency_ms);
      Deliver(b, n, now_ + conns_[b].latency_ms);
    }
    Push(now_ + model_.event_every_ms, Kind::kTick, 0, 0);
  }

  void Opened(std::uint32_t k) {
    Conn& conn = conns_[k];
    if (conn.state != ConnState::kConnecting) return;
    conn.state = ConnState::kOpen;
    Client& c = clients_[conn.client];
    c.balancer->OnOpen(conn.id);
    // The reference server writes the drain notice first, then the replay.
    const double until = drain_until_[conn.backend];
    if (until >= now_ && conn.state == ConnState::kOpen) {
      c.balancer->OnDrain(conn.id, until - now_);
    }
    if (conn.resume < 0) return;  // a first connection starts live
    for (long n = conn.resume + 1; n <= published_; ++n) {
      Deliver(k, n, now_ + conn.latency_ms);
    }
  }

  void Fail(std::uint32_t k) {
    Conn& conn = conns_[k];
    if (conn.state != ConnState::kFailed) return;  // closed meanwhile
    clients_[conn.client].balancer->OnError(conn.id,
                                            ConnectionError::kRetrying);
  }

  void Drain(std::uint32_t backend) {
    result_.phase_start_ms.push_back(now_);
    drain_until_[backend] = now_ + model_.drain_ms;
    for (std::uint32_t k = 0; k < conns_.size(); ++k) {
      if (conns_[k].backend == backend && conns_[k].state == ConnState::kOpen) {
        Push(now_ + Uniform(model_.notice_min_ms, model_.notice_max_ms),
             Kind::kDrainNotice, conns_[k].client, k);
      }
    }
    Push(now_ + model_.drain_ms, Kind::kDown, 0, backend);
    Push(now_ + model_.drain_ms + model_.down_ms, Kind::kUp, 0, backend);
  }

  void Down(std::uint32_t backend) {
    up_[backend] = false;
    drain_until_[backend] = -1;
    for (std::uint32_t k = 0; k < conns_.size(); ++k) {
      Conn& conn = conns_[k];
      if (conn.backend != backend || (conn.state != ConnState::kOpen &&
                                      conn.state != ConnState::kConnecting)) {
        continue;
      }
      conn.state = ConnState::kFailed;
      Push(now_ + Uniform(model_.notice_min_ms, model_.notice_max_ms),
           Kind::kReset, conn.client, k);
    }
  }

  void Dispatch(const Event& e) {
    switch (e.kind) {
      case Kind::kStart:
        clients_[e.client].balancer->Start();
        break;
      case Kind::kTimer:
        if (clients_[e.client].timers.Take(e.arg)) {  // else cancelled
          clients_[e.client].balancer->OnTimer(e.arg);
        }
        break;
      case Kind::kOpenDone:
        Opened(e.arg);
        break;
      case Kind::kRefused:
        conns_[e.arg].state = conns_[e.arg].state == ConnState::kConnecting
                                  ? ConnState::kFailed
                                  : conns_[e.arg].state;
        Fail(e.arg);
        break;
      case Kind::kReset:
        Fail(e.arg);
        break;
      case Kind::kTick:
        Tick();
        break;
      case Kind::kDrain:
        Drain(e.arg);
        break;
      case Kind::kDrainNotice:
        if (conns_[e.arg].state == ConnState::kOpen) {
          const double left = drain_until_[conns_[e.arg].backend] - now_;
          clients_[e.client].balancer->OnDrain(conns_[e.arg].id,
                                               std::max(0.0, left));
        }
        break;
      case Kind::kDown:
        Down(e.arg);
        break;
      case Kind::kUp:
        up_[e.arg] = true;
        if (static_cast<int>(e.arg) + 1 < model_.backends) {
          Push(now_, Kind::kDrain, 0, e.arg + 1);
        }
        break;
    }
  }

  const Model& model_;
  Rng rng_;
  Result result_;
  std::size_t buckets_ = 0;
  std::vector<bool> up_;
  std::vector<double> drain_until_;
  std::vector<Client> clients_;
  std::vector<Conn> conns_;
  std::vector<std::string> ids_;
  std::priority_queue<Event, std::vector<Event>, sim::Later> queue_;
  std::uint64_t seq_ = 0;
  double now_ = 0;
  long published_ = 0;
};

// ------------------------------------------------------------- figures ---

using sim::Quantile;

// While backend k drains, the other backends are the survivors: in each
// window of `span_ms` over the drain, the busiest survivor's attempts
// against the survivors' attempts split evenly (1 = perfectly even).
struct Storm {
  double peak_over_fair = 0;
  double peak = 0;   // the busiest survivor's attempts, that window
  double fair = 0;   // the survivors' attempts / survivors, that window
  double at_ms = 0;  // the window's start
  // The same figure if every attempt of every window had gone to a survivor
  // drawn uniformly at random (the noise floor of independent clients):
  // mean over trials of the largest busiest/fair over the same windows.
  double uniform_reference = 0;
};

// The largest busiest/fair over windows of `totals[w]` attempts thrown at
// `bins` survivors uniformly at random, averaged over `trials`.
double UniformReference(const std::vector<long>& totals, std::size_t bins,
                        std::uint64_t seed, int trials = 200) {
  Rng rng(seed);
  std::vector<long> counts(bins);
  double sum = 0;
  for (int t = 0; t < trials; ++t) {
    double worst = 0;
    for (const long total : totals) {
      std::fill(counts.begin(), counts.end(), 0);
      for (long a = 0; a < total; ++a) ++counts[rng.Below(bins)];
      const double fair = static_cast<double>(total) / bins;
      const long busiest = *std::max_element(counts.begin(), counts.end());
      worst = std::max(worst, static_cast<double>(busiest) / fair);
    }
    sum += worst;
  }
  return sum / trials;
}

Storm StormOf(const Model& model, const Result& r, double span_ms) {
  Storm s;
  std::vector<long> totals;
  const std::size_t survivors = r.attempts.size() - 1;
  const auto per = static_cast<std::size_t>(span_ms / model.bucket_ms);
  for (std::size_t k = 0; k < r.phase_start_ms.size(); ++k) {
    const auto first =
        static_cast<std::size_t>(r.phase_start_ms[k] / model.bucket_ms);
    const auto last =
        first + static_cast<std::size_t>(model.drain_ms / model.bucket_ms);
    for (std::size_t w = first; w + per <= last; w += per) {
      double total = 0;
      double busiest = 0;
      for (std::size_t b = 0; b < r.attempts.size(); ++b) {
        if (b == k) continue;
        double n = 0;
        for (std::size_t i = w; i < w + per; ++i) n += r.attempts[b][i];
        total += n;
        busiest = std::max(busiest, n);
      }
      const double fair = total / static_cast<double>(survivors);
      if (fair < 1) continue;  // a handful of attempts says nothing
      totals.push_back(static_cast<long>(total));
      if (busiest / fair > s.peak_over_fair) {
        s = {busiest / fair, busiest, fair,
             static_cast<double>(w) * model.bucket_ms, 0};
      }
    }
  }
  s.uniform_reference = UniformReference(totals, survivors, model.seed + per);
  return s;
}

void PrintAndWrite(const Model& m, const std::vector<Result>& runs,
                   FILE* json) {
  std::fprintf(json,
               "{\n  \"schema\": \"sse-balancer/fleet-drain-sim/1\",\n"
               "  \"model\": {\"clients\": %d, \"backends\": %d, \"seed\": "
               "%llu, \"event_every_ms\": %g, \"path_latency_ms\": [%g, %g], "
               "\"connect_latency_ms\": [%g, %g], \"notice_latency_ms\": [%g, "
               "%g], \"restart_at_ms\": %g, \"drain_ms\": %g, \"down_ms\": %g, "
               "\"end_ms\": %g, \"options\": \"BalancerOptions defaults\"},\n"
               "  \"runs\": [\n",
               m.clients, m.backends, static_cast<unsigned long long>(m.seed),
               m.event_every_ms, m.latency_min_ms, m.latency_max_ms,
               m.connect_min_ms, m.connect_max_ms, m.notice_min_ms,
               m.notice_max_ms, m.restart_at_ms, m.drain_ms, m.down_ms,
               m.end_ms());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Result& r = runs[i];
    const Storm second = StormOf(m, r, m.window_ms);
    const Storm bucket = StormOf(m, r, m.bucket_ms);
    const double p50 = Quantile(r.max_gaps, 0.5);
    const double p99 = Quantile(r.max_gaps, 0.99);
    const double max = Quantile(r.max_gaps, 1.0);
    std::printf(
        "%-12s lost %ld  repeated %ld (clients with either: %ld)  errors "
        "%ld  drain moves %ld  other failovers %ld\n"
        "             longest gap per client during the restart: p50 %.1f ms"
        "  p99 %.1f ms  max %.1f ms (events every %.0f ms)\n"
        "             survivors' attempts, busiest / fair share: %.2f per "
        "1 s window (%.0f vs %.1f at %.1f s; uniform random %.2f), %.2f per "
        "100 ms (uniform random %.2f)\n",
        r.policy.c_str(), r.lost, r.repeated, r.clients_with_loss, r.errors,
        r.drain_moves, r.other_failovers, p50, p99, max, m.event_every_ms,
        second.peak_over_fair, second.peak, second.fair, second.at_ms / 1000,
        second.uniform_reference, bucket.peak_over_fair,
        bucket.uniform_reference);
    std::fprintf(
        json,
        "    {\"policy\": \"%s\", \"lost\": %ld, \"repeated\": %ld, "
        "\"clients_with_loss_or_repeat\": %ld, \"errors\": %ld, "
        "\"drain_moves\": %ld, \"other_failovers\": %ld, \"delivered\": %ld, "
        "\"longest_gap_per_client_ms\": {\"p50\": %.2f, \"p99\": %.2f, "
        "\"max\": %.2f}, \"storm_1s\": {\"peak_over_fair_share\": %.4f, "
        "\"peak\": %g, \"fair\": %.2f, \"at_ms\": %g, "
        "\"uniform_random_reference\": %.4f}, \"storm_100ms\": "
        "{\"peak_over_fair_share\": %.4f, \"peak\": %g, \"fair\": %.2f, "
        "\"at_ms\": %g, \"uniform_random_reference\": %.4f}, "
        "\"host_contract_errors\": %ld}%s\n",
        r.policy.c_str(), r.lost, r.repeated, r.clients_with_loss, r.errors,
        r.drain_moves, r.other_failovers, r.delivered, p50, p99, max,
        second.peak_over_fair, second.peak, second.fair, second.at_ms,
        second.uniform_reference, bucket.peak_over_fair, bucket.peak,
        bucket.fair, bucket.at_ms, bucket.uniform_reference, r.host_errors,
        i + 1 < runs.size() ? "," : "");
  }
  std::fprintf(json, "  ]\n}\n");
}

}  // namespace
}  // namespace fleet_drain
}  // namespace sse_balancer

int main(int argc, char** argv) {
  using namespace sse_balancer::fleet_drain;
  Model model;
  std::string out_path;
  if (!sse_balancer::sim::ParseFlags(argc, argv, out_path, model.clients,
                                     model.seed)) {
    return 2;
  }
  std::printf(
      "rolling restart: %d clients, %d backends, each drains %.0f ms, down "
      "%.0f ms, then the next\n",
      model.clients, model.backends, model.drain_ms, model.down_ms);
  std::vector<Result> runs;
  long host_errors = 0;
  for (const char* policy : {"round-robin", "random"}) {
    Sim sim(model, policy);
    runs.push_back(sim.Run());
    host_errors += runs.back().host_errors;
  }
  FILE* json = out_path.empty() ? std::fopen("/dev/null", "w")
                                : std::fopen(out_path.c_str(), "w");
  if (json == nullptr) {
    std::perror(out_path.c_str());
    return 1;
  }
  PrintAndWrite(model, runs, json);
  std::fclose(json);
  if (!out_path.empty()) std::printf("wrote %s\n", out_path.c_str());
  if (host_errors != 0) std::printf("HOST CONTRACT ERRORS: %ld\n", host_errors);
  return host_errors == 0 ? 0 : 1;
}
