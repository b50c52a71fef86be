// What crosses the Wasm boundary: operation codes and the name tables that
// give them meaning in JS. web/index.js reads every table from the core at
// load (names()), so the numbers are defined here only.
#ifndef SSE_BALANCER_BINDINGS_PROTOCOL_H_
#define SSE_BALANCER_BINDINGS_PROTOCOL_H_

namespace sse_balancer::bindings {

/// JS -> core, numeric: call(handle, op, a, b) -> number.
enum class Op : int {
  kSetOption,      ///< a: index in the option table, b: value (before start)
  kSetSeed,        ///< a: seed (before start)
  kStart,          ///< builds the Balancer from what was set, connects
  kClose,          ///< closes every connection and timer
  kDelete,         ///< frees the handle (after close)
  kOpen,           ///< a: connection
  kError,          ///< a: connection, b: its EventSource readyState
  kMessage,        ///< a: connection, b: numeric id (-1: none) -> endpoint|-1
  kTimer,          ///< a: timer
  kUrlFailed,      ///< a: connection: the urlProvider failed
  kExclude,        ///< a: endpoint the next kPick must not choose
  kPick,           ///< -> endpoint for a request, or -1; clears exclusions
  kRequestFailed,  ///< a: endpoint
  kOnline,
  kOffline,
  kResume,     ///< a: whether the active connection looks alive
  kStat,       ///< a: endpoint (-1: the balancer), b: field -> value
  kDefault,    ///< a: index in the option table -> its default
  kHeapInUse,  ///< (no handle) bytes malloc'd in the Wasm heap
  kHeapSize,   ///< (no handle) the Wasm heap's size
};

/// JS -> core with a string: text(handle, op, a, string) -> number.
enum class TextOp : int {
  kAddUrl,            ///< before start, in order
  kPolicy,            ///< before start
  kLastEventIdParam,  ///< before start; "" turns it off
  kLastEventId,       ///< before start
  kMessage,           ///< a: connection, string: id -> endpoint or -1
};

/// Core -> JS: host(op, a, b, c, string) -> number.
enum class HostOp : int {
  kOpenSource,      ///< a: connection, b: endpoint, string: URL
  kCloseSource,     ///< a: connection
  kStartTimer,      ///< a: timer, b: delay in whole ms
  kCancelTimer,     ///< a: timer
  kIsAlive,         ///< a: connection -> 1 when it still looks usable
  kNotifyOpen,      ///< a: endpoint
  kNotifyError,     ///< a: endpoint, b: reason
  kNotifyFailover,  ///< a: from (-1: none), b: to, c: reason
};

/// Strings out: textOf(handle, which) -> string. Tables are comma-separated;
/// kTables names this enumeration itself, and kAll gives every table at once
/// (one call at load), so JS needs no code but -2.
enum class TextOut : int {
  kAll = -2,  ///< "tables=...\nops=...\n...": every table but kLastEventId
  kTables = -1,
  kLastEventId,         ///< the handle's last delivered id
  kOps,                 ///< Op names, by code
  kTextOps,             ///< TextOp names
  kHostOps,             ///< HostOp names
  kOptions,             ///< numeric option names, by index
  kPolicies,            ///< policy names
  kStates,              ///< EndpointState names
  kReasons,             ///< FailureReason names ("" for none)
  kBalancerStats,       ///< balancer fields of kStat (a = -1); "a.b" nests
  kEndpointStats,       ///< endpoint fields of kStat; "a.b" nests
  kDefaultParam,        ///< the default lastEventIdParam
  kDefaultLastEventId,  ///< the default lastEventId
};

}  // namespace sse_balancer::bindings

#endif  // SSE_BALANCER_BINDINGS_PROTOCOL_H_
