// Fleet simulation: 10,000 clients, each a real
// sse_balancer::Balancer with its own seed, against 10 simulated backends,
// on one simulated clock with seeded randomness. Deterministic: the same
// flags give the same JSON, byte for byte, on the same platform.
//
// The model (all times in simulated ms; every figure is also in the JSON):
//   - one discrete-event queue, a min-heap of (time, sequence, action), for
//     every client's timers, connection outcomes and the backend faults;
//   - a SimHost per client implements Host: OpenConnection opens after a
//     connect latency uniform in [2, 20] ms, or is refused after a latency
//     uniform in [0.5, 1.5] ms when the backend is down at that moment;
//     timers go into the queue; NowMs is the simulated clock;
//   - clients start at times uniform in [0, 1000) ms;
//   - when a backend goes down, every stream to it (open or still
//     connecting) errors after a delivery delay uniform in [0.5, 5] ms, as a
//     TCP reset reaching the browser: the host reports kNetwork, which the
//     core reports as `closed` for a stream that had opened; until it comes
//     back up, new connections to it are refused;
//   - an attempt is counted when OpenConnection is called (the client
//     starts it), in 100 ms buckets per backend.
//
// Scenarios, each for round-robin and random, with the default options
// ("default": jitter 1) and with jitter 0 ("jitter0"), everything else
// default:
//   one-backend-dies: backend 3 goes down at t = 60 s, for good.
//   all-restart:      every backend goes down at t = 60 s and comes back at
//                     t = 65 s.
//
// Usage: fleet_sim [--out FILE] [--clients N] [--seed S]
// Prints a readable summary on stdout; writes the JSON to FILE
// (docs/bench/fleet.json from scripts/bench-native.sh). Exits 1 if the
// Host contract was broken (a bug in the simulator or the core), never on a
// figure.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "balancer.h"
#include "policy_registry.h"
#include "rng.h"
#include "sim_common.h"
#include "types.h"

namespace sse_balancer {
namespace fleet {
namespace {

// ---------------------------------------------------------------- model ---

struct Model {
  int clients = 10000;
  int backends = 10;
  std::uint64_t seed = 20250101;
  double start_spread_ms = 1000;
  double connect_min_ms = 2;
  double connect_max_ms = 20;
  double refuse_min_ms = 0.5;
  double refuse_max_ms = 1.5;
  double error_min_ms = 0.5;
  double error_max_ms = 5;
  double fault_at_ms = 60000;
  int dead_backend = 3;           // one-backend-dies
  double restart_down_ms = 5000;  // all-restart
  double steady_snapshot_ms = 59000;
  double end_ms = 180000;
  double bucket_ms = 100;
  // The slice of the 100 ms series written to the JSON (for plots).
  double series_from_ms = 59000;
  double series_to_ms = 75000;
};

enum class Scenario { kOneDies, kAllRestart };

const char* ScenarioName(Scenario scenario) {
  return scenario == Scenario::kOneDies ? "one-backend-dies" : "all-restart";
}

using sim::Mix;

// -------------------------------------------------------------- helpers ---

using sim::Quantile;

double Mean(const std::vector<double>& values) {
  if (values.empty()) return NAN;
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

struct Spread {
  std::vector<double> counts;
  double mean = 0;
  double max = 0;
  double min = 0;
  double max_over_mean = 0;
  double cv = 0;  // population standard deviation / mean
};

Spread SpreadOf(const std::vector<double>& counts) {
  Spread s;
  s.counts = counts;
  if (counts.empty()) return s;
  s.mean = Mean(counts);
  s.max = *std::max_element(counts.begin(), counts.end());
  s.min = *std::min_element(counts.begin(), counts.end());
  double var = 0;
  for (double c : counts) var += (c - s.mean) * (c - s.mean);
  var /= static_cast<double>(counts.size());
  s.max_over_mean = s.mean > 0 ? s.max / s.mean : NAN;
  s.cv = s.mean > 0 ? std::sqrt(var) / s.mean : NAN;
  return s;
}

constexpr double kPi = 3.14159265358979323846;

// E[max of m independent standard normals], by numerical integration.
double ExpectedMaxOfNormals(int m) {
  const double step = 1e-3;
  double sum = 0;
  for (double x = -10; x <= 10; x += step) {
    const double pdf = std::exp(-x * x / 2) / std::sqrt(2 * kPi);
    const double cdf = 0.5 * std::erfc(-x / std::sqrt(2.0));
    sum += x * m * pdf * std::pow(cdf, m - 1) * step;
  }
  return sum;
}

// Balls into bins: `balls` thrown uniformly into `bins`, `trials` times,
// with the core's own Rng. Max/mean and CV of the bin counts.
struct BallsIntoBins {
  long balls = 0;
  int bins = 0;
  int trials = 0;
  double max_over_mean_mean = 0;
  double max_over_mean_p5 = 0;
  double max_over_mean_p50 = 0;
  double max_over_mean_p95 = 0;
  double cv_mean = 0;
  double cv_p5 = 0;
  double cv_p95 = 0;
  // 1 + E[max of `bins` normals] / sqrt(balls / bins): the normal
  // approximation of the multinomial (good when balls / bins is large).
  double normal_approx_max_over_mean = 0;
  // sqrt((bins - 1) / balls).
  double normal_approx_cv = 0;
};

BallsIntoBins SimulateBallsIntoBins(long balls, int bins, int trials,
                                    std::uint64_t seed) {
  BallsIntoBins b;
  b.balls = balls;
  b.bins = bins;
  b.trials = trials;
  Rng rng(seed);
  std::vector<double> max_over_mean;
  std::vector<double> cvs;
  std::vector<double> counts(static_cast<std::size_t>(bins));
  for (int t = 0; t < trials; ++t) {
    std::fill(counts.begin(), counts.end(), 0.0);
    for (long i = 0; i < balls; ++i) counts[rng.Below(bins)] += 1;
    const Spread s = SpreadOf(counts);
    max_over_mean.push_back(s.max_over_mean);
    cvs.push_back(s.cv);
  }
  b.max_over_mean_mean = Mean(max_over_mean);
  b.max_over_mean_p5 = Quantile(max_over_mean, 0.05);
  b.max_over_mean_p50 = Quantile(max_over_mean, 0.5);
  b.max_over_mean_p95 = Quantile(max_over_mean, 0.95);
  b.cv_mean = Mean(cvs);
  b.cv_p5 = Quantile(cvs, 0.05);
  b.cv_p95 = Quantile(cvs, 0.95);
  b.normal_approx_max_over_mean =
      balls > 0 ? 1 + ExpectedMaxOfNormals(bins) /
                          std::sqrt(static_cast<double>(balls) / bins)
                : NAN;
  b.normal_approx_cv =
      balls > 0 ? std::sqrt((bins - 1.0) / static_cast<double>(balls)) : NAN;
  return b;
}

// ------------------------------------------------------------ simulator ---

enum class EventKind : std::uint8_t {
  kStart,
  kTimer,
  kOpenDone,
  kRefused,
  kStreamError,
  kBackendDown,
  kBackendUp,
};

using Event = sim::Event<EventKind>;

using sim::Conn;
using sim::ConnState;

constexpr std::uint32_t kNoConn = 0xffffffffu;

class Sim;

using SimHost = sim::ClientHost<Sim>;

struct Client {
  std::unique_ptr<SimHost> host;
  std::unique_ptr<Balancer> balancer;
  std::uint32_t conn = kNoConn;  // the connection the balancer has open
  sim::PendingTimers timers;
  bool streaming = false;
  int first_pick = -1;
  double lost_at = -1;       // lost its open stream at or after the fault
  double recovered_at = -1;  // first open after that
  std::uint32_t attempts_after_fault = 0;
};

struct RunResult {
  std::string policy;
  std::string variant;
  double jitter = 1;
  double max_outage_ms = 2000;
  double restart_down_ms = 5000;  // all-restart: how long everything is down
  Scenario scenario = Scenario::kOneDies;
  std::vector<double> first_picks;
  std::vector<double> steady;
  std::vector<double> at_end;
  // attempts[backend][bucket], opens[bucket], streaming[bucket] (clients
  // streaming at the end of the bucket).
  std::vector<std::vector<double>> attempts;
  std::vector<double> opens;
  std::vector<double> streaming;
  std::vector<double> recovery_ms;  // per affected client that recovered
  std::vector<double> attempts_per_affected;
  long affected = 0;
  long unrecovered = 0;
  long attempts_after_fault = 0;
  long host_errors = 0;
  long events = 0;
  long failovers = 0;
  long ejections = 0;
};

class Sim {
 public:
  Sim(const Model& model, Scenario scenario, std::string policy,
      std::string variant, double jitter, double max_outage_ms,
      double restart_down_ms)
      : model_(model), scenario_(scenario), rng_(model.seed ^ 0x51ed) {
    result_.restart_down_ms = restart_down_ms;
    result_.policy = std::move(policy);
    result_.variant = std::move(variant);
    result_.jitter = jitter;
    result_.max_outage_ms = max_outage_ms;
    result_.scenario = scenario;
    buckets_ = static_cast<std::size_t>(model.end_ms / model.bucket_ms) + 1;
    result_.attempts.assign(static_cast<std::size_t>(model.backends),
                            std::vector<double>(buckets_, 0.0));
    result_.opens.assign(buckets_, 0.0);
    up_.assign(static_cast<std::size_t>(model.backends), true);
  }

  RunResult Run() {
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
      options.backoff.jitter = result_.jitter;
      options.backoff.max_outage_ms = result_.max_outage_ms;
      options.seed = Mix(model_.seed * 1000003 + i);
      c.balancer = std::make_unique<Balancer>(
          urls, options, MakePolicy(result_.policy), *c.host);
      Push(Uniform(0, model_.start_spread_ms), EventKind::kStart, i, 0);
    }
    if (scenario_ == Scenario::kOneDies) {
      Push(model_.fault_at_ms, EventKind::kBackendDown, 0,
           static_cast<std::uint32_t>(model_.dead_backend));
    } else {
      for (int b = 0; b < model_.backends; ++b) {
        Push(model_.fault_at_ms, EventKind::kBackendDown, 0,
             static_cast<std::uint32_t>(b));
        Push(model_.fault_at_ms + result_.restart_down_ms,
             EventKind::kBackendUp, 0, static_cast<std::uint32_t>(b));
      }
    }

    bool steady_taken = false;
    while (!queue_.empty() && queue_.top().t <= model_.end_ms) {
      const Event e = queue_.top();
      queue_.pop();
      if (!steady_taken && e.t > model_.steady_snapshot_ms) {
        SampleTo(model_.steady_snapshot_ms);
        result_.steady = Snapshot();
        steady_taken = true;
      }
      SampleTo(e.t);
      now_ = e.t;
      ++result_.events;
      Dispatch(e);
    }
    if (!steady_taken) result_.steady = Snapshot();
    SampleTo(model_.end_ms);
    now_ = model_.end_ms;
    result_.at_end = Snapshot();

    result_.first_picks.assign(static_cast<std::size_t>(model_.backends), 0);
    for (const Client& c : clients_) {
      if (c.first_pick >= 0) result_.first_picks[c.first_pick] += 1;
      if (c.lost_at < 0) continue;
      ++result_.affected;
      result_.attempts_per_affected.push_back(c.attempts_after_fault);
      if (c.recovered_at >= 0) {
        result_.recovery_ms.push_back(c.recovered_at - model_.fault_at_ms);
      } else {
        ++result_.unrecovered;
      }
    }
    for (const Client& c : clients_) {
      for (const Endpoint& endpoint : c.balancer->endpoints()) {
        result_.ejections += static_cast<long>(endpoint.counters.ejections);
      }
    }
    return std::move(result_);
  }

  // Host calls, for SimHost.
  void OpenConnection(std::uint32_t client, ConnectionId id,
                      std::size_t backend) {
    Client& c = clients_[client];
    if (c.conn != kNoConn) ++result_.host_errors;  // one at a time
    const std::size_t bucket = Bucket(now_);
    result_.attempts[backend][bucket] += 1;
    if (c.first_pick < 0) c.first_pick = static_cast<int>(backend);
    if (now_ >= model_.fault_at_ms) {
      ++c.attempts_after_fault;
      ++result_.attempts_after_fault;
    }
    const auto index = static_cast<std::uint32_t>(conns_.size());
    conns_.push_back({client, id, static_cast<std::uint16_t>(backend),
                      ConnState::kConnecting});
    c.conn = index;
    if (up_[backend]) {
      Push(now_ + Uniform(model_.connect_min_ms, model_.connect_max_ms),
           EventKind::kOpenDone, client, index);
    } else {
      Push(now_ + Uniform(model_.refuse_min_ms, model_.refuse_max_ms),
           EventKind::kRefused, client, index);
    }
  }

  void CloseConnection(std::uint32_t client, ConnectionId id) {
    Client& c = clients_[client];
    if (c.conn == kNoConn || conns_[c.conn].id != id) {
      ++result_.host_errors;
      return;
    }
    conns_[c.conn].state = ConnState::kClosed;
    c.conn = kNoConn;
  }

  void StartTimer(std::uint32_t client, TimerId id, double delay_ms) {
    if (!(delay_ms >= 0)) ++result_.host_errors;
    clients_[client].timers.Add(id);
    Push(now_ + std::max(0.0, delay_ms), EventKind::kTimer, client, id);
  }

  void CancelTimer(std::uint32_t client, TimerId id) {
    if (!clients_[client].timers.Take(id)) ++result_.host_errors;
  }

  double now() const { return now_; }

  void NotifyOpen(std::uint32_t client) {
    Client& c = clients_[client];
    result_.opens[Bucket(now_)] += 1;
    if (!c.streaming) {
      c.streaming = true;
      ++streaming_;
    }
    if (c.lost_at >= 0 && c.recovered_at < 0) c.recovered_at = now_;
  }

  void NotifyError(std::uint32_t client) {
    Client& c = clients_[client];
    if (!c.streaming) return;  // an attempt failed, not a stream
    c.streaming = false;
    --streaming_;
    if (now_ >= model_.fault_at_ms && c.lost_at < 0) c.lost_at = now_;
  }

  void NotifyFailover(std::uint32_t /*client*/, FailureReason /*reason*/) {
    ++result_.failovers;
  }

 private:
  void Push(double t, EventKind kind, std::uint32_t client, std::uint32_t arg) {
    queue_.push({t, seq_++, kind, client, arg});
  }

  double Uniform(double lo, double hi) {
    return lo + (hi - lo) * rng_.Uniform01();
  }

  std::size_t Bucket(double t) const {
    return std::min(buckets_ - 1,
                    static_cast<std::size_t>(t / model_.bucket_ms));
  }

  // Records `streaming_` for every bucket that ends at or before `t`.
  void SampleTo(double t) {
    while (result_.streaming.size() < buckets_ &&
           static_cast<double>(result_.streaming.size() + 1) *
                   model_.bucket_ms <=
               t) {
      result_.streaming.push_back(static_cast<double>(streaming_));
    }
  }

  // Clients streaming from each backend now.
  std::vector<double> Snapshot() const {
    std::vector<double> counts(static_cast<std::size_t>(model_.backends), 0);
    for (const Client& c : clients_) {
      if (c.conn != kNoConn && conns_[c.conn].state == ConnState::kOpen) {
        counts[conns_[c.conn].backend] += 1;
      }
    }
    return counts;
  }

  void Dispatch(const Event& e) {
    switch (e.kind) {
      case EventKind::kStart:
        clients_[e.client].balancer->Start();
        break;
      case EventKind::kTimer:
        if (clients_[e.client].timers.Take(e.arg)) {  // else cancelled
          clients_[e.client].balancer->OnTimer(e.arg);
        }
        break;
      case EventKind::kOpenDone: {
        Conn& conn = conns_[e.arg];
        if (conn.state != ConnState::kConnecting) break;
        conn.state = ConnState::kOpen;
        Balancer& balancer = *clients_[conn.client].balancer;
        balancer.OnOpen(conn.id);
        // A live stream delivers events (one stands for all of them here):
        // when it ends, it ended healthy, which the core treats as such.
        if (balancer.active_connection() == conn.id) {
          balancer.OnMessage(conn.id, "");
        }
        break;
      }
      case EventKind::kRefused: {
        Conn& conn = conns_[e.arg];
        if (conn.state != ConnState::kConnecting) break;
        conn.state = ConnState::kFailed;
        clients_[conn.client].balancer->OnError(conn.id,
                                                ConnectionError::kRetrying);
        break;
      }
      case EventKind::kStreamError: {
        const Conn& conn = conns_[e.arg];
        if (conn.state != ConnState::kFailed) break;  // closed meanwhile
        clients_[conn.client].balancer->OnError(conn.id,
                                                ConnectionError::kRetrying);
        break;
      }
      case EventKind::kBackendDown: {
        up_[e.arg] = false;
        for (Client& c : clients_) {
          if (c.conn == kNoConn) continue;
          Conn& conn = conns_[c.conn];
          if (conn.backend != e.arg || (conn.state != ConnState::kOpen &&
                                        conn.state != ConnState::kConnecting)) {
            continue;
          }
          conn.state = ConnState::kFailed;  // a pending open will not happen
          Push(now_ + Uniform(model_.error_min_ms, model_.error_max_ms),
               EventKind::kStreamError, conn.client, c.conn);
        }
        break;
      }
      case EventKind::kBackendUp:
        up_[e.arg] = true;
        break;
    }
  }

  const Model& model_;
  Scenario scenario_;
  Rng rng_;
  RunResult result_;
  std::size_t buckets_ = 0;
  std::vector<bool> up_;
  std::vector<Client> clients_;
  std::vector<Conn> conns_;
  std::priority_queue<Event, std::vector<Event>, sim::Later> queue_;
  std::uint64_t seq_ = 0;
  double now_ = 0;
  long streaming_ = 0;
};

// -------------------------------------------------------------- figures ---

// How hot the survivors get, over the buckets [from_ms, to_ms).
struct Storm {
  double from_ms = 0;
  double to_ms = 0;
  int survivors = 0;
  double attempts_on_survivors = 0;
  double peak_busiest_survivor = 0;  // max over survivors and buckets
  int peak_busiest_survivor_backend = -1;
  double peak_busiest_survivor_at_ms = 0;  // bucket start
  double peak_all_survivors = 0;           // max over buckets of the sum
  double peak_all_survivors_at_ms = 0;
  double fair_share_at_peak = 0;  // peak_all_survivors / survivors
  double peak_over_fair_share = 0;
  // Balls-into-bins reference: peak_all_survivors balls into `survivors`
  // bins, thrown uniformly (what a perfectly random spread would give).
  BallsIntoBins uniform_reference;
  // Temporal variant: the moving clients spread evenly over the survivors
  // and over the buckets until 95 % of them stream again.
  double moving_clients = 0;
  double spread_buckets = 0;
  double even_spread_per_bucket = 0;
  double peak_over_even_spread = 0;
};

Storm ComputeStorm(const Model& model, const RunResult& run, double from_ms,
                   double to_ms, const std::vector<int>& survivors,
                   double moving_clients, double t95_from_window_start_ms) {
  Storm s;
  s.from_ms = from_ms;
  s.to_ms = to_ms;
  s.survivors = static_cast<int>(survivors.size());
  const auto first = static_cast<std::size_t>(from_ms / model.bucket_ms);
  const auto last = std::min(run.opens.size(),
                             static_cast<std::size_t>(to_ms / model.bucket_ms));
  for (std::size_t b = first; b < last; ++b) {
    double total = 0;
    for (int k : survivors) {
      const double a = run.attempts[k][b];
      total += a;
      if (a > s.peak_busiest_survivor) {
        s.peak_busiest_survivor = a;
        s.peak_busiest_survivor_backend = k;
        s.peak_busiest_survivor_at_ms =
            static_cast<double>(b) * model.bucket_ms;
      }
    }
    s.attempts_on_survivors += total;
    if (total > s.peak_all_survivors) {
      s.peak_all_survivors = total;
      s.peak_all_survivors_at_ms = static_cast<double>(b) * model.bucket_ms;
    }
  }
  s.fair_share_at_peak = s.peak_all_survivors / s.survivors;
  s.peak_over_fair_share = s.fair_share_at_peak > 0
                               ? s.peak_busiest_survivor / s.fair_share_at_peak
                               : NAN;
  const long balls = static_cast<long>(s.peak_all_survivors);
  const int trials = static_cast<int>(
      std::clamp(2e7 / std::max(1.0, s.peak_all_survivors), 200.0, 5000.0));
  s.uniform_reference =
      SimulateBallsIntoBins(balls, s.survivors, trials, model.seed + 7);
  s.moving_clients = moving_clients;
  s.spread_buckets =
      std::max(1.0, std::ceil(t95_from_window_start_ms / model.bucket_ms));
  s.even_spread_per_bucket = moving_clients / s.survivors / s.spread_buckets;
  s.peak_over_even_spread =
      s.even_spread_per_bucket > 0
          ? s.peak_busiest_survivor / s.even_spread_per_bucket
          : NAN;
  return s;
}

// ----------------------------------------------------------------- JSON ---

class Json {
 public:
  void BeginObject() { Open('{', false); }
  void EndObject() { Close('}'); }
  void BeginArray(bool compact = false) { Open('[', compact); }
  void EndArray() { Close(']'); }
  void Key(std::string_view key) {
    Separate();
    Quoted(key);
    out_ += ": ";
    after_key_ = true;
  }
  void Number(double value) {
    Separate();
    if (!std::isfinite(value)) {
      out_ += "null";
    } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
      out_ += std::to_string(static_cast<long long>(value));
    } else {
      char buffer[40];
      std::snprintf(buffer, sizeof buffer, "%.6g", value);
      out_ += buffer;
    }
  }
  void String(std::string_view value) {
    Separate();
    Quoted(value);
  }
  void Numbers(const std::vector<double>& values) {
    BeginArray(true);
    for (double v : values) Number(v);
    EndArray();
  }
  // Shorthands.
  void Field(std::string_view key, double value) {
    Key(key);
    Number(value);
  }
  void Field(std::string_view key, std::string_view value) {
    Key(key);
    String(value);
  }
  void Field(std::string_view key, const char* value) {
    Field(key, std::string_view(value));
  }
  void Field(std::string_view key, const std::vector<double>& values) {
    Key(key);
    Numbers(values);
  }
  const std::string& text() const { return out_; }

 private:
  struct Level {
    bool compact;
    int count;
  };
  void Separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (levels_.empty()) return;
    Level& level = levels_.back();
    if (level.count++ > 0) out_ += level.compact ? ", " : ",";
    if (!level.compact) Newline(levels_.size());
  }
  void Open(char ch, bool compact) {
    Separate();
    out_ += ch;
    levels_.push_back({compact || InCompact(), 0});
  }
  void Close(char ch) {
    const Level level = levels_.back();
    levels_.pop_back();
    if (!level.compact && level.count > 0) Newline(levels_.size());
    out_ += ch;
  }
  bool InCompact() const { return !levels_.empty() && levels_.back().compact; }
  void Newline(std::size_t depth) {
    out_ += '\n';
    out_.append(depth * 2, ' ');
  }
  void Quoted(std::string_view text) {
    out_ += '"';
    for (char ch : text) {
      if (ch == '"' || ch == '\\') out_ += '\\';
      out_ += ch;
    }
    out_ += '"';
  }
  std::string out_;
  std::vector<Level> levels_;
  bool after_key_ = false;
};

void WriteSpread(Json& json, std::string_view key, const Spread& s,
                 const std::vector<int>* backends = nullptr) {
  json.Key(key);
  json.BeginObject();
  if (backends != nullptr) {
    json.Field("backends",
               std::vector<double>(backends->begin(), backends->end()));
  }
  json.Field("counts", s.counts);
  json.Field("mean", s.mean);
  json.Field("min", s.min);
  json.Field("max", s.max);
  json.Field("max_over_mean", s.max_over_mean);
  json.Field("cv", s.cv);
  json.EndObject();
}

void WriteBallsIntoBins(Json& json, std::string_view key,
                        const BallsIntoBins& b) {
  json.Key(key);
  json.BeginObject();
  json.Field("balls", static_cast<double>(b.balls));
  json.Field("bins", b.bins);
  json.Field("trials", b.trials);
  json.Field("method",
             "simulation with the core's Rng (xoshiro256**), seeded; plus "
             "the normal approximation of the multinomial");
  json.Key("max_over_mean");
  json.BeginObject();
  json.Field("mean", b.max_over_mean_mean);
  json.Field("p5", b.max_over_mean_p5);
  json.Field("p50", b.max_over_mean_p50);
  json.Field("p95", b.max_over_mean_p95);
  json.Field("normal_approximation", b.normal_approx_max_over_mean);
  json.EndObject();
  json.Key("cv");
  json.BeginObject();
  json.Field("mean", b.cv_mean);
  json.Field("p5", b.cv_p5);
  json.Field("p95", b.cv_p95);
  json.Field("normal_approximation", b.normal_approx_cv);
  json.EndObject();
  json.EndObject();
}

void WriteStorm(Json& json, std::string_view key, const Storm& s) {
  json.Key(key);
  json.BeginObject();
  json.Field("window_from_ms", s.from_ms);
  json.Field("window_to_ms", s.to_ms);
  json.Field("survivors", s.survivors);
  json.Field("attempts_on_survivors", s.attempts_on_survivors);
  json.Field("peak_attempts_per_100ms_busiest_survivor",
             s.peak_busiest_survivor);
  json.Field("busiest_survivor", s.peak_busiest_survivor_backend);
  json.Field("busiest_survivor_peak_at_ms", s.peak_busiest_survivor_at_ms);
  json.Field("peak_attempts_per_100ms_all_survivors", s.peak_all_survivors);
  json.Field("all_survivors_peak_at_ms", s.peak_all_survivors_at_ms);
  json.Field("fair_share_per_100ms", s.fair_share_at_peak);
  json.Field("peak_over_fair_share", s.peak_over_fair_share);
  json.Field("uniform_random_expected_peak_over_fair_share",
             s.uniform_reference.max_over_mean_mean);
  json.Field("moving_clients", s.moving_clients);
  json.Field("spread_buckets", s.spread_buckets);
  json.Field("even_spread_per_100ms", s.even_spread_per_bucket);
  json.Field("peak_over_even_spread", s.peak_over_even_spread);
  json.EndObject();
}

std::vector<double> Slice(const std::vector<double>& v, std::size_t from,
                          std::size_t to) {
  to = std::min(to, v.size());
  if (from >= to) return {};
  return std::vector<double>(v.begin() + static_cast<long>(from),
                             v.begin() + static_cast<long>(to));
}

// ------------------------------------------------------------------ main ---

struct Analysed {
  RunResult run;
  std::vector<int> survivors;
  Storm storm;                         // from the fault to the end
  std::optional<Storm> after_restart;  // all-restart: from the restart on
  double recovery_p50 = NAN;
  double recovery_p95 = NAN;
  double recovery_max = NAN;
  double t95_ms = NAN;  // 95 % of the affected clients stream again
  double attempts_per_client_mean = NAN;
  double attempts_per_client_p50 = NAN;
  double attempts_per_client_p95 = NAN;
  double attempts_per_client_max = NAN;
  Spread after;
};

Analysed Analyse(const Model& model, RunResult run) {
  Analysed a;
  for (int b = 0; b < model.backends; ++b) {
    if (run.scenario == Scenario::kOneDies && b == model.dead_backend) {
      continue;
    }
    a.survivors.push_back(b);
  }
  // Time until 95 % of the affected clients stream again: those that never
  // do count as infinitely late.
  std::vector<double> recovery = run.recovery_ms;
  for (long i = 0; i < run.unrecovered; ++i) recovery.push_back(INFINITY);
  a.recovery_p50 = Quantile(recovery, 0.5);
  a.recovery_p95 = Quantile(recovery, 0.95);
  a.recovery_max = recovery.empty()
                       ? NAN
                       : *std::max_element(recovery.begin(), recovery.end());
  a.t95_ms = a.recovery_p95;
  a.attempts_per_client_mean = Mean(run.attempts_per_affected);
  a.attempts_per_client_p50 = Quantile(run.attempts_per_affected, 0.5);
  a.attempts_per_client_p95 = Quantile(run.attempts_per_affected, 0.95);
  a.attempts_per_client_max =
      run.attempts_per_affected.empty()
          ? NAN
          : *std::max_element(run.attempts_per_affected.begin(),
                              run.attempts_per_affected.end());
  a.storm =
      ComputeStorm(model, run, model.fault_at_ms, model.end_ms, a.survivors,
                   static_cast<double>(run.affected), a.t95_ms);
  if (run.scenario == Scenario::kAllRestart) {
    const double back = model.fault_at_ms + run.restart_down_ms;
    a.after_restart = ComputeStorm(model, run, back, model.end_ms, a.survivors,
                                   static_cast<double>(run.affected),
                                   a.t95_ms - run.restart_down_ms);
  }
  std::vector<double> survivor_counts;
  for (int b : a.survivors) survivor_counts.push_back(run.at_end[b]);
  a.after = SpreadOf(survivor_counts);
  a.run = std::move(run);
  return a;
}

void WriteModel(Json& json, const Model& m) {
  json.Key("model");
  json.BeginObject();
  json.Field("clients", m.clients);
  json.Field("backends", m.backends);
  json.Field("seed", static_cast<double>(m.seed));
  json.Field("start_spread_ms", m.start_spread_ms);
  json.Field("connect_latency_ms", {m.connect_min_ms, m.connect_max_ms});
  json.Field("refusal_latency_ms", {m.refuse_min_ms, m.refuse_max_ms});
  json.Field("stream_error_delivery_ms", {m.error_min_ms, m.error_max_ms});
  json.Field("fault_at_ms", m.fault_at_ms);
  json.Field("dead_backend", m.dead_backend);
  json.Field("restart_down_ms", m.restart_down_ms);
  json.Field("steady_snapshot_ms", m.steady_snapshot_ms);
  json.Field("end_ms", m.end_ms);
  json.Field("bucket_ms", m.bucket_ms);
  json.Field("options",
             "BalancerOptions defaults (initial backoff 1000 ms x1.6 up to "
             "30000 ms, min 250 ms, outage sweeps every 1000 ms x1.6 up to "
             "max_outage_ms 2000 ms, ejection after 5 failures, 60 connects "
             "per minute, connect timeout 10000 ms, heartbeat off), with "
             "backoff.jitter = 1 (variant default) or 0 (variant jitter0), "
             "and for all-restart the outage cap at 1 s, 5 s and 30 s; seed "
             "per client; every stream delivers an event when it opens");
  json.EndObject();

  json.Key("definitions");
  json.BeginObject();
  json.Field("attempt",
             "one Host::OpenConnection call (the client starts a connection), "
             "counted in the 100 ms bucket of the call, on the backend it "
             "goes to");
  json.Field("cv", "population standard deviation / mean of the counts");
  json.Field("first_picks", "backend of each client's first connection");
  json.Field("steady_state",
             "clients streaming from each backend at steady_snapshot_ms "
             "(nothing fails before fault_at_ms, so it equals first_picks)");
  json.Field("after_recovery",
             "clients streaming from each survivor at end_ms; counts[i] is "
             "backend backends[i]");
  json.Field("affected_clients",
             "clients whose open stream failed at or after fault_at_ms");
  json.Field("recovery_ms",
             "per affected client, from fault_at_ms to its first open after "
             "losing its stream; p95 is the time until 95 % of the affected "
             "clients stream again (clients that never do count as infinite)");
  json.Field("attempts_per_client",
             "attempts an affected client made from fault_at_ms to end_ms");
  json.Field("peak_over_fair_share",
             "headline storm figure: the busiest survivor's attempts in its "
             "busiest 100 ms bucket divided by the fair share, which is the "
             "survivors' attempts in the busiest 100 ms bucket split evenly "
             "over the survivors. 1 = perfectly even; survivors = a fully "
             "herded storm (everything on one backend)");
  json.Field("uniform_random_expected_peak_over_fair_share",
             "what uniform random assignment would give for the same bucket: "
             "expected max/mean of peak_attempts_per_100ms_all_survivors "
             "balls in `survivors` bins (simulated)");
  json.Field("peak_over_even_spread",
             "temporal variant: the busiest survivor's peak attempts per "
             "100 ms divided by moving_clients / survivors / spread_buckets, "
             "spread_buckets being the 100 ms buckets from the window start "
             "until 95 % of the affected clients stream again (at least 1)");
  json.Field("storm", "figures over [fault_at_ms, end_ms)");
  json.Field("storm_after_restart",
             "all-restart only: figures over [fault_at_ms + restart_down_ms, "
             "end_ms), when the backends accept connections again");
  json.Field("series",
             "100 ms buckets from series.from_ms: attempts_total, "
             "attempts_by_backend[backend], opens (streams opened), "
             "streaming (clients streaming at the end of the bucket)");
  json.EndObject();
}

void WriteRun(Json& json, const Model& model, const Analysed& a) {
  const RunResult& r = a.run;
  json.BeginObject();
  json.Field("scenario", ScenarioName(r.scenario));
  json.Field("policy", r.policy);
  json.Field("variant", r.variant);
  json.Field("max_outage_ms", r.max_outage_ms);
  json.Field("restart_down_ms", r.restart_down_ms);
  json.Field("jitter", r.jitter);
  if (r.scenario == Scenario::kOneDies) {
    json.Field("dead_backend", model.dead_backend);
  }
  json.Field("survivors", static_cast<double>(a.survivors.size()));
  json.Field("affected_clients", static_cast<double>(r.affected));
  json.Field("unrecovered_clients", static_cast<double>(r.unrecovered));
  json.Field("attempts_after_fault",
             static_cast<double>(r.attempts_after_fault));
  json.Key("attempts_per_client");
  json.BeginObject();
  json.Field("mean", a.attempts_per_client_mean);
  json.Field("p50", a.attempts_per_client_p50);
  json.Field("p95", a.attempts_per_client_p95);
  json.Field("max", a.attempts_per_client_max);
  json.EndObject();
  json.Key("recovery_ms");
  json.BeginObject();
  json.Field("p50", a.recovery_p50);
  json.Field("p95", a.recovery_p95);
  json.Field("max", a.recovery_max);
  if (r.scenario == Scenario::kAllRestart) {
    json.Field("p50_after_restart", a.recovery_p50 - r.restart_down_ms);
    json.Field("p95_after_restart", a.recovery_p95 - r.restart_down_ms);
  }
  json.EndObject();
  json.Field("t95_ms", a.t95_ms);
  WriteStorm(json, "storm", a.storm);
  if (a.after_restart)
    WriteStorm(json, "storm_after_restart", *a.after_restart);
  WriteSpread(json, "after_recovery", a.after, &a.survivors);
  json.Field("failovers", static_cast<double>(r.failovers));
  json.Field("ejections", static_cast<double>(r.ejections));
  json.Field("events", static_cast<double>(r.events));

  const auto from =
      static_cast<std::size_t>(model.series_from_ms / model.bucket_ms);
  const auto to =
      static_cast<std::size_t>(model.series_to_ms / model.bucket_ms);
  std::vector<double> total(r.opens.size(), 0.0);
  for (const auto& per_backend : r.attempts) {
    for (std::size_t b = 0; b < per_backend.size(); ++b) {
      total[b] += per_backend[b];
    }
  }
  json.Key("series");
  json.BeginObject();
  json.Field("from_ms", static_cast<double>(from) * model.bucket_ms);
  json.Field("bucket_ms", model.bucket_ms);
  json.Field("attempts_total", Slice(total, from, to));
  json.Key("attempts_by_backend");
  json.BeginArray();
  for (const auto& per_backend : r.attempts) {
    json.Numbers(Slice(per_backend, from, to));
  }
  json.EndArray();
  json.Field("opens", Slice(r.opens, from, to));
  json.Field("streaming", Slice(r.streaming, from, to));
  json.EndObject();
  json.EndObject();
}

void PrintSpread(const char* label, const Spread& s) {
  std::printf("  %-28s max/mean %.4f  cv %.4f  counts", label, s.max_over_mean,
              s.cv);
  for (double c : s.counts) std::printf(" %.0f", c);
  std::printf("\n");
}

void PrintRun(const Model& model, const Analysed& a) {
  const RunResult& r = a.run;
  std::printf(
      "  %-11s %-8s affected %5ld  attempts/client %.2f (p95 %.0f, "
      "max %.0f)  t95 %.0f ms (p50 %.0f)%s\n",
      r.policy.c_str(), r.variant.c_str(), r.affected,
      a.attempts_per_client_mean, a.attempts_per_client_p95,
      a.attempts_per_client_max, a.t95_ms, a.recovery_p50,
      r.unrecovered ? "  UNRECOVERED CLIENTS" : "");
  auto storm_line = [](const char* label, const Storm& s) {
    std::printf(
        "      %-15s busiest survivor %6.0f/100ms (backend %d at "
        "%.1f s)  all survivors %7.0f/100ms  peak/fair %.2f "
        "(uniform random %.2f)  peak/even-spread %.1f\n",
        label, s.peak_busiest_survivor, s.peak_busiest_survivor_backend,
        s.peak_busiest_survivor_at_ms / 1000, s.peak_all_survivors,
        s.peak_over_fair_share, s.uniform_reference.max_over_mean_mean,
        s.peak_over_even_spread);
  };
  storm_line("storm", a.storm);
  if (a.after_restart) storm_line("after restart", *a.after_restart);
  std::printf(
      "      after recovery: max/mean %.3f cv %.3f over %zu survivors;"
      " ejections %ld\n",
      a.after.max_over_mean, a.after.cv, a.survivors.size(), r.ejections);
  (void)model;
}

// An ASCII histogram of attempts per 100 ms (all backends), for the log.
void PrintHistogram(const Model& model, const Analysed& a, double from_ms,
                    double to_ms) {
  const RunResult& r = a.run;
  const auto first = static_cast<std::size_t>(from_ms / model.bucket_ms);
  const auto last = static_cast<std::size_t>(to_ms / model.bucket_ms);
  double peak = 1;
  std::vector<double> total;
  for (std::size_t b = first; b < last; ++b) {
    double t = 0;
    for (const auto& per_backend : r.attempts) t += per_backend[b];
    total.push_back(t);
    peak = std::max(peak, t);
  }
  std::printf("    attempts per 100 ms, %s %s %s (scale: %.0f = 60 #)\n",
              ScenarioName(r.scenario), r.policy.c_str(), r.variant.c_str(),
              peak);
  for (std::size_t i = 0; i < total.size(); ++i) {
    if (total[i] == 0) continue;
    const int bar = static_cast<int>(std::ceil(60 * total[i] / peak));
    std::printf("    %7.1f s %7.0f %s\n",
                static_cast<double>(first + i) * model.bucket_ms / 1000,
                total[i],
                std::string(static_cast<std::size_t>(bar), '#').c_str());
  }
}

}  // namespace
}  // namespace fleet
}  // namespace sse_balancer

int main(int argc, char** argv) {
  using namespace sse_balancer::fleet;
  Model model;
  std::string out_path;
  if (!sse_balancer::sim::ParseFlags(argc, argv, out_path, model.clients,
                                     model.seed)) {
    return 2;
  }

  // The default options, without jitter, and (all-restart only) the
  // trade-off of the outage cap: recovery time against attempts.
  struct Variant {
    const char* name;
    double jitter;
    double max_outage_ms;
    bool all_restart_only;
    double restart_down_ms;
  };
  const Variant variants[] = {
      {"default", 1.0, 2000, false, 5000},
      {"jitter0", 0.0, 2000, false, 5000},
      {"outage-cap-1s", 1.0, 1000, true, 5000},
      {"outage-cap-5s", 1.0, 5000, true, 5000},
      {"down-30s", 1.0, 2000, true, 30000},
      {"down-30s-cap-1s", 1.0, 1000, true, 30000},
      {"down-30s-cap-5s", 1.0, 5000, true, 30000},
      {"down-30s-cap-30s", 1.0, 30000, true, 30000},
  };
  const char* policies[] = {"round-robin", "random"};
  const Scenario scenarios[] = {Scenario::kOneDies, Scenario::kAllRestart};

  std::vector<Analysed> runs;
  long host_errors = 0;
  for (const char* policy : policies) {
    for (Scenario scenario : scenarios) {
      for (const Variant& v : variants) {
        if (v.all_restart_only && scenario != Scenario::kAllRestart) continue;
        Sim sim(model, scenario, policy, v.name, v.jitter, v.max_outage_ms,
                v.restart_down_ms);
        runs.push_back(Analyse(model, sim.Run()));
        host_errors += runs.back().run.host_errors;
      }
    }
  }
  const BallsIntoBins reference = SimulateBallsIntoBins(
      model.clients, model.backends, 10000, model.seed + 1);

  // ---- summary
  std::printf("fleet simulation: %d clients, %d backends, seed %llu\n",
              model.clients, model.backends,
              static_cast<unsigned long long>(model.seed));
  std::printf(
      "\nballs into bins (%d balls, %d bins, %d trials): max/mean "
      "%.4f (p5 %.4f, p95 %.4f; normal approx %.4f), cv %.4f "
      "(normal approx %.4f)\n",
      model.clients, model.backends, reference.trials,
      reference.max_over_mean_mean, reference.max_over_mean_p5,
      reference.max_over_mean_p95, reference.normal_approx_max_over_mean,
      reference.cv_mean, reference.normal_approx_cv);
  for (const char* policy : policies) {
    for (const Analysed& a : runs) {
      if (a.run.policy != policy) continue;
      std::printf("\n%s\n", policy);
      PrintSpread("first picks", SpreadOf(a.run.first_picks));
      PrintSpread("steady state (t=59 s)", SpreadOf(a.run.steady));
      break;
    }
  }
  for (Scenario scenario : scenarios) {
    std::printf("\n%s (fault at %.0f s%s)\n", ScenarioName(scenario),
                model.fault_at_ms / 1000,
                scenario == Scenario::kOneDies ? ", backend 3 for good"
                                               : ", all back after 5 s");
    for (const Analysed& a : runs) {
      if (a.run.scenario == scenario) PrintRun(model, a);
    }
  }
  std::printf("\n");
  for (const Analysed& a : runs) {
    if (a.run.policy == std::string("random") &&
        a.run.scenario == Scenario::kAllRestart) {
      PrintHistogram(model, a, model.fault_at_ms, model.fault_at_ms + 8000);
    }
  }
  if (host_errors != 0) {
    std::printf("\nHOST CONTRACT ERRORS: %ld\n", host_errors);
  }

  // ---- JSON
  if (!out_path.empty()) {
    Json json;
    json.BeginObject();
    json.Field("schema", "sse-balancer/fleet-sim/1");
    WriteModel(json, model);
    WriteBallsIntoBins(json, "balls_into_bins", reference);
    json.Key("distribution");
    json.BeginObject();
    json.Field("note",
               "every client has the same seed under both policies, and both "
               "policies make their first pick with the first draw, "
               "Rng::Below(10), so round-robin's random start and random's "
               "first pick put each client on the same backend: both are "
               "balls into bins");
    for (const char* policy : policies) {
      for (const Analysed& a : runs) {
        if (a.run.policy != policy) continue;
        json.Key(policy);
        json.BeginObject();
        WriteSpread(json, "first_picks", SpreadOf(a.run.first_picks));
        WriteSpread(json, "steady_state", SpreadOf(a.run.steady));
        json.EndObject();
        break;
      }
    }
    json.EndObject();
    json.Key("runs");
    json.BeginArray();
    for (const Analysed& a : runs) WriteRun(json, model, a);
    json.EndArray();
    json.Field("host_contract_errors", static_cast<double>(host_errors));
    json.EndObject();
    FILE* file = std::fopen(out_path.c_str(), "w");
    if (file == nullptr) {
      std::perror(out_path.c_str());
      return 1;
    }
    std::fputs(json.text().c_str(), file);
    std::fputs("\n", file);
    std::fclose(file);
    std::printf("\nwrote %s\n", out_path.c_str());
  }
  return host_errors == 0 ? 0 : 1;
}
