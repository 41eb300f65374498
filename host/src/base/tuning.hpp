// The host's fixed numbers that are not flags: the bounds of a loop turn, the
// buffers, and the waits, each with why it has its value (the figures are
// bench/README.md's workloads on the reference machine). One place, so that a
// change to one is seen beside the others.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace microsockets::tuning {

// --- A worker's loop turn (core/worker, websocket/websocket_session) ---

// Ready handlers run per turn before output is written; bounds the latency
// one busy turn adds to the writes it batches, and the size the batches grow
// to. Measured on W1: 256 gave 6.9-8.5 M msg/s, 1024 gave 5.8-6.4 M (bigger
// per-connection buffers cost more in copying and page faults than the
// sends they save).
constexpr int max_handlers_per_turn = 256;
// A connection's messages dispatched in one loop turn, at most; the rest wait
// for the next turn, after this turn's output is written, so that one busy
// sender cannot make a turn (and the output it fans out) unbounded. On W1, 16
// to 32 gave the best rate and latency; 128 or a 64 KiB read at once were
// slower, their batches outgrowing the receivers' windows.
constexpr std::uint16_t messages_per_turn = 32;
// And bytes read from it in one turn, at most: a peer that keeps its buffer
// full of frames that are no message (empty fragments, pongs) lets the others
// have their turn too.
constexpr std::size_t bytes_per_turn = 64 * 1024;
// The worker's one read buffer: an 8 KiB message in one read; a connection
// may read several in a turn.
constexpr std::size_t read_buffer_bytes = 16 * 1024;
// A write buffer larger than this after a burst is given back to the allocator.
constexpr std::size_t keep_buffer_bytes = 64 * 1024;

// --- HTTP before the upgrade (http/http_session) ---

// A request must come this soon after the connection (or the last response).
constexpr auto request_timeout = std::chrono::seconds(30);
// nginx's large_client_header_buffers 4 8k: a request line up to 8 KiB, the
// whole header up to 32 KiB. Constants, not flags: no WebSocket client needs more.
constexpr std::size_t max_target_bytes = 8 * 1024;
constexpr std::size_t max_header_bytes = 32 * 1024;
// How long a refused client may go on sending before the connection is closed.
constexpr auto linger_time = std::chrono::seconds(2);

// --- Accepting (net/listener) ---

// After an accept fails (the fd limit), the listener pauses this long,
// doubling to the longest while it lasts, instead of retrying in a loop.
constexpr auto first_accept_pause = std::chrono::milliseconds(100);
constexpr auto longest_accept_pause = std::chrono::milliseconds(1000);
// Connections accepted per wake of the control thread before it looks at its
// other work (signals, the watchdog): a flood cannot hold it, and a burst of
// connects costs one wait, not one each.
constexpr int accepts_per_wake = 64;

// --- Redis (cluster/) ---

// Retries wait a random 0..base ("full jitter"), base 100 ms doubling to 2 s,
// so that hosts cut off together do not all come back in the same
// millisecond. Failed AUTH or SELECT count as failed attempts: the base only
// goes back to 100 ms once a connection was ready.
constexpr auto first_redis_retry = std::chrono::milliseconds(100);
constexpr auto longest_redis_retry = std::chrono::milliseconds(2000);
// A host's liveness key outlives its last refresh by member_lease: a host
// killed outright leaves its members counted for at most that (the README
// states it). Refreshes come every quarter of --redis-timeout (500 ms by
// default, 100 ms to 1 s), and each is a command with a deadline: a Redis
// that stops answering is noticed within --redis-timeout and a refresh.
constexpr auto member_lease = std::chrono::seconds(5);
// A message to several rooms comes once per Redis holding any of them, all
// within milliseconds; its id is kept this long to deliver it once, and at
// most this many ids (forged ids must not grow the set without bound).
constexpr auto dedup_window = std::chrono::seconds(5);
constexpr std::size_t max_seen_messages = 100000;
// A host still unreachable says so again this often (and whenever the reason changes).
constexpr auto unreachable_reminder = std::chrono::seconds(60);

// --- Plugin code (ops/watchdog, plugins/plugin_watcher) ---

// How often the watchdog looks at what each worker runs: a stuck call is
// seen within --slow-handler and this.
constexpr auto watchdog_period = std::chrono::milliseconds(100);
// After SIGABRT to a stuck thread, this long for it to write its report and
// end the process before the watchdog aborts from here (a thread that blocks
// SIGABRT).
constexpr std::int64_t watchdog_kill_grace_ns = 2'000'000'000;
// How long the plugins directory must be quiet after a change before a
// reload: a copy in progress is not loaded half written.
constexpr auto plugin_watch_debounce = std::chrono::milliseconds(150);

}  // namespace microsockets::tuning
