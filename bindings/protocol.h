// What crosses the Wasm boundary: operation codes and the name tables that
// give them meaning in JS. web/index.js reads every table from the core at
// load (names()), so the numbers are defined here only.
#ifndef SSE_BALANCER_BINDINGS_PROTOCOL_H_
#define SSE_BALANCER_BINDINGS_PROTOCOL_H_

namespace sse_balancer::bindings {

// Each list below defines its enumeration and the names JS knows it by
// (kOpNames, ...), so the two cannot drift apart.

/// JS -> core, numeric: call(handle, op, a, b) -> number.
#define SSEB_OPS(X)                                                          \
  X(SetOption, setOption) /* a: option index, b: value (not started) */      \
  X(SetSeed, setSeed)     /* a: seed (not started) */                        \
  X(SetWeight, setWeight) /* a: endpoint, b: its weight (not started) */     \
  X(Start, start)         /* builds the Balancer, connects */                \
  X(Close, close)         /* closes every connection and timer */            \
  X(Delete, delete)       /* frees the handle (after close) */               \
  X(Open, open)           /* a: connection */                                \
  X(Error, error)         /* a: connection, b: its readyState */             \
  X(Message, message)     /* a: connection, b: id (-1: none) */              \
  X(Timer, timer)         /* a: timer */                                     \
  X(UrlFailed, urlFailed) /* a: connection: urlProvider failed */            \
  X(Exclude, exclude)     /* a: endpoint the next pick must skip */          \
  X(Pick, pick)           /* -> endpoint for a request, or -1 */             \
  X(RequestFailed, requestFailed) /* a: endpoint */                          \
  X(Online, online)                                                          \
  X(Offline, offline)                                                        \
  X(Resume, resume)         /* the page is visible or restored */            \
  X(Drain, drain)           /* a: connection, b: ms until its server goes */ \
  X(SetLoad, setLoad)       /* a: endpoint, b: its advertised load */        \
  X(LoadReport, loadReport) /* a: connection: new loads arrived on it */     \
  X(NextWeight, nextWeight) /* a: index in the next list, b: its weight */   \
  X(ApplyEndpoints, applyEndpoints) /* the next list replaces the list */    \
  X(Refresh, refresh)     /* cool-downs/ejections that ran out end */        \
  X(Stat, stat)           /* a: endpoint (-1: balancer), b: field */         \
  X(Default, default)     /* a: option index -> its default */               \
  X(HeapInUse, heapInUse) /* (no handle) bytes malloc'd */                   \
  X(HeapSize, heapSize)   /* (no handle) the Wasm heap's size */

/// JS -> core with a string: text(handle, op, a, string) -> number.
#define SSEB_TEXT_OPS(X)                                                \
  X(AddUrl, addUrl)                     /* not started, in order */     \
  X(Policy, policy)                     /* not started */               \
  X(LastEventIdParam, lastEventIdParam) /* "" turns it off */           \
  X(LastEventId, lastEventId)           /* not started */               \
  X(StickyKey, stickyKey)               /* the sticky policy's key */   \
  X(NextUrl, nextUrl)                   /* appended to the next list */ \
  X(Message, message) /* a: connection, string: id -> endpoint or -1 */

/// Core -> JS: host(op, a, b, c, string) -> number.
#define SSEB_HOST_OPS(X)                                                      \
  X(OpenSource, openSource)             /* a: connection, b: endpoint, URL */ \
  X(CloseSource, closeSource)           /* a: connection */                   \
  X(StartTimer, startTimer)             /* a: timer, b: delay in whole ms */  \
  X(CancelTimer, cancelTimer)           /* a: timer */                        \
  X(IsAlive, isAlive)                   /* a: connection -> 1 if usable */    \
  X(NotifyOpen, notifyOpen)             /* a: endpoint */                     \
  X(NotifyError, notifyError)           /* a: endpoint, b: reason */          \
  X(NotifyFailover, notifyFailover)     /* a: from (-1), b: to, c: reason */  \
  X(EndpointsChanged, endpointsChanged) /* the list changed: re-read it */

#define SSEB_ENUMERATOR(name, js) k##name,
#define SSEB_JS_NAME(name, js) "," #js

enum class Op : int { SSEB_OPS(SSEB_ENUMERATOR) };
enum class TextOp : int { SSEB_TEXT_OPS(SSEB_ENUMERATOR) };
enum class HostOp : int { SSEB_HOST_OPS(SSEB_ENUMERATOR) };

// Comma-separated, without the leading comma.
inline constexpr const char* kOpNames = &(SSEB_OPS(SSEB_JS_NAME))[1];
inline constexpr const char* kTextOpNames = &(SSEB_TEXT_OPS(SSEB_JS_NAME))[1];
inline constexpr const char* kHostOpNames = &(SSEB_HOST_OPS(SSEB_JS_NAME))[1];

#undef SSEB_ENUMERATOR
#undef SSEB_JS_NAME

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
  kEndpointUrls,        ///< the handle's endpoint URLs, one per line
};

}  // namespace sse_balancer::bindings

#endif  // SSE_BALANCER_BINDINGS_PROTOCOL_H_
