#include "cluster/redis_bus.hpp"

#include "base/tuning.hpp"

#include "websocket/envelope.hpp"
#include "base/log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace microsockets {
namespace {

using clock = std::chrono::steady_clock;

// The sent time every message carries (see redis_message.hpp).
std::uint64_t wall_ms() {
  return std::uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
}


const std::string room_channel = "ms:room:";
// Broadcasts to several rooms, one copy per shard holding any of them, their
// rooms listed once: every host listens here on every shard.
const std::string multi_channel = "ms:multi";
const std::string host_channel = "ms:host:";
const std::string members_key = "ms:members:";
const std::string alive_key = "ms:alive:";

// Members of KEYS[1] (a hash conn -> lease) whose ARGV[1]..lease key still
// exists; fields of lapsed leases (dead hosts, old leases) are removed on the way.
constexpr std::string_view live_members_script = R"lua(
local fields = redis.call('HGETALL', KEYS[1])
local out, alive = {}, {}
for i = 1, #fields, 2 do
  local lease = fields[i + 1]
  if alive[lease] == nil then alive[lease] = redis.call('EXISTS', ARGV[1] .. lease) == 1 end
  if alive[lease] then out[#out + 1] = fields[i] else redis.call('HDEL', KEYS[1], fields[i]) end
end
return out
)lua";

// FNV-1a: every host must pick the same Redis for a room, whatever its build.
std::uint64_t stable_hash(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

template <class T>
std::optional<T> number(std::string_view s, int base = 10) {
  T value{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::string_view text(const redisReply& r) { return {r.str, r.len}; }

std::chrono::milliseconds heartbeat_every(std::chrono::milliseconds timeout) {
  return std::clamp<std::chrono::milliseconds>(timeout / 4, std::chrono::milliseconds(100), std::chrono::seconds(1));
}

}  // namespace

struct redis_bus::shard {
  shard(net::io_context& home, const redis_address& a, redis_connection::limits l)
      : sub(home, a, false, l), pub(home, a, true, l) {}
  redis_connection sub;  // SUBSCRIBE only: its reading is never held up by replies
  redis_connection pub;  // PUBLISH, membership, heartbeats
  std::unordered_map<std::string, channel> channels;
  bool healthy = false;
  bool ever_up = false;
  clock::time_point lost_at, told_at;
  std::string told;  // the last reason logged while unreachable
  std::uint64_t lease = 0;
  std::string lease_id;        // "<host>.<lease>": each membership's value, the liveness key's suffix
  clock::time_point last_beat;  // when Redis last confirmed the liveness key
  bool set_get = true;          // SET ... GET works (Redis 6.2 and later)
  log_limiter lost_lines, back_lines;  // should the connection flap
};

redis_bus::redis_bus(net::io_context& home, std::vector<redis_address> addresses, std::uint32_t host_id,
                     host_services& services, std::function<void(std::shared_ptr<const fanout>)> deliver,
                     redis_bus_settings settings)
    : home_(home),
      host_id_(host_id),
      host_hex_(fmt::format("{:x}", host_id)),
      services_(services),
      deliver_(std::move(deliver)),
      settings_(settings),
      shard_count_(unsigned(addresses.size())),
      heartbeat_timer_(home) {
  for (const auto& a : addresses) {
    auto& s = *shards_.emplace_back(std::make_unique<shard>(home, a, settings_.connection));
    s.sub.on_push = [this, &s](const redisReply& r) { subscription_reply(s, r); };
    // A new connection starts with no subscription: every wanted channel is asked again.
    auto resubscribe = [this, &s] {
      std::vector<std::string> names;
      for (auto& [name, c] : s.channels) {
        set_state(c, sub_state::none);
        names.push_back(name);
      }
      for (auto& name : names) reconcile(s, name);
    };
    s.sub.on_up = [this, &s, resubscribe] {
      resubscribe();
      connection_changed(s, {});
    };
    s.pub.on_up = [this, &s] {
      register_members(s);
      connection_changed(s, {});
    };
    s.sub.on_down = [this, &s, resubscribe](std::string why) {
      resubscribe();  // not connected: only forgets the old connection's subscriptions
      connection_changed(s, std::move(why));
    };
    // The subscription connection sends nothing to miss a deadline on while
    // its channels are set: when Redis stops answering commands, it is made
    // again too. A stale one (Redis restarted behind a cut network) would
    // otherwise look up and receive nothing, and a paused Redis's backlog
    // for it would burst into this host when it resumes.
    s.pub.on_down = [this, &s](std::string why) {
      s.lease_id.clear();  // a new one once it is back
      s.sub.restart("the command connection to the same Redis was lost");
      connection_changed(s, std::move(why));
    };
  }
  const std::string mine = host_channel + host_hex_;
  shard_of(mine).channels[mine].wanted = true;
  for (auto& sh : shards_) sh->channels[multi_channel].wanted = true;
}

redis_bus::~redis_bus() = default;

void redis_bus::start() {
  log::info("cluster: host id {} over {} redis: {}", host_hex_, shards_.size(), [&] {
    std::string all;
    for (const auto& s : shards_) all += (all.empty() ? "" : ", ") + s->pub.address().label();
    return all;
  }());
  for (auto& s : shards_) {
    s->sub.start();
    s->pub.start();
  }
  heartbeat();
}

void redis_bus::stop() {
  stopped_ = true;
  heartbeat_timer_.cancel();
  for (auto& s : shards_) {
    s->sub.stop();
    s->pub.stop();
  }
}

template <class Fn>
void redis_bus::at_home(Fn&& fn) {
  worker* here = worker::current();
  if (here && &here->context() == &home_) {
    if (!stopped_) fn();
    return;
  }
  net::post(home_, [this, fn = std::forward<Fn>(fn)]() mutable {
    if (!stopped_) fn();
  });
}

redis_bus::shard& redis_bus::shard_of(std::string_view name) {
  return *shards_[stable_hash(name) % shards_.size()];
}

// Brings one channel's subscription towards what is wanted, one command in
// flight at a time: hiredis 0.14 forgets a channel's callback when an
// UNSUBSCRIBE's reply comes after a newer SUBSCRIBE was sent.
void redis_bus::want(shard& s, const std::string& name, bool wanted) {
  s.channels[name].wanted = wanted;
  reconcile(s, name);
}

void redis_bus::reconcile(shard& s, const std::string& name) {
  auto it = s.channels.find(name);
  if (it == s.channels.end()) return;
  auto& c = it->second;
  if (!s.sub.up()) set_state(c, sub_state::none);
  else if (c.wanted && c.state == sub_state::none && s.sub.subscription("SUBSCRIBE", name))
    set_state(c, sub_state::subscribing);
  else if (!c.wanted && c.state == sub_state::subscribed)
    set_state(c, s.sub.subscription("UNSUBSCRIBE", name) ? sub_state::unsubscribing : sub_state::none);
  if (!c.wanted && c.state == sub_state::none) s.channels.erase(it);
}

void redis_bus::set_state(channel& c, sub_state state) {
  if (c.state == sub_state::subscribed) subscribed_.fetch_sub(1, std::memory_order_relaxed);
  if (state == sub_state::subscribed) subscribed_.fetch_add(1, std::memory_order_relaxed);
  c.state = state;
}

void redis_bus::subscription_reply(shard& s, const redisReply& r) {
  if (r.type != REDIS_REPLY_ARRAY || r.elements < 3 || r.element[0]->type != REDIS_REPLY_STRING ||
      r.element[1]->type != REDIS_REPLY_STRING)
    return;
  const auto kind = text(*r.element[0]);
  if (kind == "message") {
    if (r.element[2]->type == REDIS_REPLY_STRING) received(text(*r.element[2]));
    return;
  }
  std::string name(text(*r.element[1]));
  auto it = s.channels.find(name);
  if (it == s.channels.end()) return;
  if (kind == "subscribe") set_state(it->second, sub_state::subscribed);
  else if (kind == "unsubscribe") set_state(it->second, sub_state::none);
  reconcile(s, name);
}

// One line each way per Redis: lost (or unreachable from the start), then
// back; while it stays away, a line only when the reason changes or once a
// minute, so a wrong password or a dead Redis costs a few lines, not a flood.
void redis_bus::connection_changed(shard& s, std::string why) {
  const bool healthy = s.sub.up() && s.pub.up();
  const auto label = s.pub.address().label();
  const auto now = clock::now();
  if (!healthy && !why.empty()) {
    if (s.healthy) {
      s.lost_at = s.told_at = now;
      s.told = why;
      s.healthy = false;
      lost_.fetch_add(1, std::memory_order_relaxed);
      shards_up_.fetch_sub(1);
      if (auto n = s.lost_lines.allow())
        log::warn("redis {} lost ({}): local rooms keep working, cross-host messages are dropped until it is back{}",
                  label, why, log_limiter::suppressed_note(*n));
    } else if (s.told.empty() || (why != s.told && !s.ever_up) || now - s.told_at > tuning::unreachable_reminder) {
      if (s.told.empty()) s.lost_at = now;
      s.told = why;
      s.told_at = now;
      log::warn("redis {} unreachable for {:.1f} s ({}): local rooms work, retrying with backoff", label,
                std::chrono::duration<double>(now - s.lost_at).count(), why);
    }
    return;
  }
  if (healthy && !s.healthy) {
    shards_up_.fetch_add(1);
    s.healthy = true;
    s.told.clear();
    if (!s.ever_up) log::info("redis {} connected", label);
    else if (auto n = s.back_lines.allow())
      log::info("redis {} back after {:.1f} s: memberships written again, resubscribed{}", label,
                std::chrono::duration<double>(now - s.lost_at).count(), log_limiter::suppressed_note(*n));
    s.ever_up = true;
  }
}

// A new lease: the liveness key under a new name, and every local member of
// this Redis's rooms written under it. Entries of the old lease (members that
// left while Redis could not be told) lapse with the old key.
void redis_bus::register_members(shard& s) {
  s.lease_id = fmt::format("{}.{}", host_hex_, ++s.lease);
  s.last_beat = clock::now();
  const auto lease = std::to_string(std::chrono::milliseconds(tuning::member_lease).count());
  s.pub.command({"SET", alive_key + s.lease_id, "1", "PX", lease});
  for (const auto& [room, conns] : rooms_) {
    if (&shard_of(room) != &s) continue;
    std::vector<std::string> ids;
    for (auto c : conns) ids.push_back(std::to_string(c));
    const std::string key = members_key + room;
    std::vector<std::string_view> args{"HSET", key};
    for (const auto& id : ids) {
      args.push_back(id);
      args.push_back(s.lease_id);
    }
    s.pub.command(args);
  }
}

void redis_bus::heartbeat() {
  if (stopped_) return;
  const auto lease = std::to_string(std::chrono::milliseconds(tuning::member_lease).count());
  for (auto& p : shards_) {
    auto& s = *p;
    if (!s.pub.up() || s.lease_id.empty()) continue;
    const std::string key = alive_key + s.lease_id;
    std::vector<std::string_view> args{"SET", key, "1", "PX", lease};
    if (s.set_get) args.push_back("GET");
    s.pub.command(args, [this, &s, id = s.lease_id](const redisReply* r) {
      if (!r || id != s.lease_id) return;  // gone, or a new lease since
      if (r->type == REDIS_REPLY_ERROR) {
        if (s.set_get) log::info("redis {}: SET ... GET refused ({}); lapses are found by time alone",
                                 s.pub.address().label(), text(*r));
        s.set_get = false;
        return;
      }
      // The key had expired (GET found nothing), or this is the first answer
      // in more than a lease: other hosts may have removed this host's
      // members meanwhile (their lookups drop a lapsed lease's entries).
      const auto now = clock::now();
      const bool lapsed = (s.set_get && r->type == REDIS_REPLY_NIL) || now - s.last_beat > tuning::member_lease;
      s.last_beat = now;
      if (!lapsed) return;
      rewritten_.fetch_add(1, std::memory_order_relaxed);
      if (auto n = lapse_lines_.allow())
        log::warn("redis {}: this host's liveness had lapsed (a pause or a stall of over {} s); its members are "
                  "written again{}",
                  s.pub.address().label(), tuning::member_lease.count(), log_limiter::suppressed_note(*n));
      register_members(s);
    });
  }
  const auto old = clock::now() - tuning::dedup_window;
  while (!seen_order_.empty() && seen_order_.front().first < old) {
    seen_.erase(seen_order_.front().second);
    seen_order_.pop_front();
  }
  heartbeat_timer_.expires_after(heartbeat_every(settings_.connection.timeout));
  heartbeat_timer_.async_wait([this](error_code ec) {
    if (!ec) heartbeat();
  });
}

void redis_bus::joined(ms_conn_id conn, std::string_view room) {
  at_home([this, conn, room = std::string(room)] {
    auto& members = rooms_[room];
    if (!members.insert(conn).second) return;
    rooms_of_[conn].push_back(room);
    auto& s = shard_of(room);
    if (members.size() == 1) want(s, room_channel + room, true);
    s.pub.command({"HSET", members_key + room, std::to_string(conn), s.lease_id});
  });
}

void redis_bus::left(ms_conn_id conn, std::string_view room) {
  at_home([this, conn, room = std::string(room)] {
    auto it = rooms_of_.find(conn);
    if (it == rooms_of_.end()) return;
    auto& names = it->second;
    auto at = std::find(names.begin(), names.end(), room);
    if (at == names.end()) return;
    names.erase(at);
    if (names.empty()) rooms_of_.erase(it);
    member_left(conn, room);
  });
}

void redis_bus::gone(ms_conn_id conn) {
  at_home([this, conn] {
    auto it = rooms_of_.find(conn);
    if (it == rooms_of_.end()) return;
    auto names = std::move(it->second);
    rooms_of_.erase(it);
    for (const auto& room : names) member_left(conn, room);
  });
}

void redis_bus::member_left(ms_conn_id conn, const std::string& room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  it->second.erase(conn);
  auto& s = shard_of(room);
  if (it->second.empty()) {
    rooms_.erase(it);
    want(s, room_channel + room, false);
  }
  s.pub.command({"HDEL", members_key + room, std::to_string(conn)});
}

void redis_bus::dropped(drop_reason why, std::uint64_t n) { dropped_[why].fetch_add(n, std::memory_order_relaxed); }

// `published` counts what Redis accepted, on its reply.
void redis_bus::publish(shard& s, const std::string& channel, std::string_view message) {
  auto rc = s.pub.command(
      {"PUBLISH", channel, message},
      [this](const redisReply* r) {
        if (r && r->type == REDIS_REPLY_INTEGER) published_.fetch_add(1, std::memory_order_relaxed);
        else dropped(unanswered);
      },
      true);
  if (rc == redis_connection::sent::not_ready) return dropped(unreachable);
  if (rc == redis_connection::sent::backlog) {
    dropped(backlog);
    if (auto n = drop_lines_.allow())
      log::warn("redis {}: {} bytes wait for it (--redis-max-pending {}): cross-host messages dropped{}",
                s.pub.address().label(), s.pub.pending_bytes(), settings_.connection.max_pending,
                log_limiter::suppressed_note(*n));
  }
}

void redis_bus::published(std::shared_ptr<const fanout> job, std::string_view event, std::string_view payload,
                          bool is_json) {
  // One room: its channel, heard by the hosts with members there. More: one
  // copy per shard that holds any of them, on its multi channel, so that the
  // bytes grow with the rooms, not with their square; the first copy a host
  // gets delivers to all its members of any of them, once.
  std::vector<shard*> targets;
  if (job->rooms.size() == 1) {
    targets.push_back(&shard_of(job->rooms.front()));
  } else {
    for (const auto& r : job->rooms)
      if (auto* s = &shard_of(r); std::find(targets.begin(), targets.end(), s) == targets.end()) targets.push_back(s);
  }
  const std::uint64_t copies = targets.size();
  if (event.size() + payload.size() > settings_.messages.max_message_bytes) {
    // The other hosts would refuse it (the same limit): they are not sent it.
    dropped(too_big, copies);
    if (auto n = drop_lines_.allow())
      log::warn("cluster: a broadcast of {} bytes is over --max-message ({}): delivered on this host only{}",
                event.size() + payload.size(), settings_.messages.max_message_bytes, log_limiter::suppressed_note(*n));
    return;
  }
  const auto seq = std::to_string(sequence_.fetch_add(1, std::memory_order_relaxed) + 1);
  const auto skip = std::to_string(job->skip);
  std::vector<std::string_view> fields{host_hex_, seq, skip, event, payload, is_json ? "1" : "0"};
  for (const auto& r : job->rooms) fields.push_back(r);
  auto message = encode_redis_message('b', wall_ms(), fields);
  const std::size_t bytes = message.size() * copies;
  if (in_transit_.fetch_add(bytes, std::memory_order_relaxed) + bytes > settings_.connection.max_pending) {
    in_transit_.fetch_sub(bytes, std::memory_order_relaxed);
    return dropped(backlog, copies);
  }
  at_home([this, bytes, targets = std::move(targets), job = std::move(job), message = std::move(message)] {
    in_transit_.fetch_sub(bytes, std::memory_order_relaxed);
    if (job->rooms.size() == 1) return publish(*targets.front(), room_channel + job->rooms.front(), message);
    for (auto* s : targets) publish(*s, multi_channel, message);
  });
}

void redis_bus::send_to_host(ms_conn_id conn, char kind, const std::vector<std::string_view>& fields) {
  auto message = encode_redis_message(kind, wall_ms(), fields);
  const std::size_t bytes = message.size();
  if (in_transit_.fetch_add(bytes, std::memory_order_relaxed) + bytes > settings_.connection.max_pending) {
    in_transit_.fetch_sub(bytes, std::memory_order_relaxed);
    return dropped(backlog);
  }
  at_home([this, conn, bytes, message = std::move(message)] {
    in_transit_.fetch_sub(bytes, std::memory_order_relaxed);
    const auto channel = host_channel + fmt::format("{:x}", connection_id::host_of(conn));
    publish(shard_of(channel), channel, message);
  });
}

void redis_bus::emit(ms_conn_id conn, std::string_view event, std::string_view payload, bool is_json) {
  send_to_host(conn, 'e', {std::to_string(conn), event, payload, is_json ? "1" : "0"});
}

void redis_bus::close(ms_conn_id conn, std::uint16_t code, std::string_view reason) {
  send_to_host(conn, 'c', {std::to_string(conn), std::to_string(code), reason});
}

void redis_bus::join(ms_conn_id conn, std::string_view room) { send_to_host(conn, 'j', {std::to_string(conn), room}); }

void redis_bus::leave(ms_conn_id conn, std::string_view room) { send_to_host(conn, 'l', {std::to_string(conn), room}); }

bool redis_bus::seen_before(std::string key) {
  if (seen_.contains(key)) return true;
  if (seen_order_.size() >= tuning::max_seen_messages) {
    seen_.erase(seen_order_.front().second);
    seen_order_.pop_front();
  }
  seen_.insert(key);
  seen_order_.emplace_back(clock::now(), std::move(key));
  return false;
}

// Whatever arrives is checked before anything acts on it: a message that is
// not one of ours, well formed and within this host's limits is dropped,
// counted and logged (rate-limited), and never reaches a client.
void redis_bus::received(std::string_view text) {
  auto m = decode_redis_message(text);
  // This host's own broadcasts come back (Redis 7 has no NOLOCAL for pub/sub): dropped first, cheaply.
  if (m && m->kind == 'b' && !m->fields.empty() && m->fields[0] == host_hex_) {
    received_own_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Held by Redis past --redis-timeout (a stall, then a resume that runs a
  // backlog of publishes): the sender has counted it as dropped, and the burst
  // must not reach clients. A sender whose clock runs behind looks the same.
  if (m) {
    const auto age = std::int64_t(wall_ms() - m->sent_ms);
    if (age > settings_.connection.timeout.count()) {
      received_stale_.fetch_add(1, std::memory_order_relaxed);
      if (auto n = stale_lines_.allow())
        log::warn("cluster: a message {:.1f} s old dropped (over --redis-timeout: Redis held it, or the hosts' clocks differ){}",
                  double(age) / 1000, log_limiter::suppressed_note(*n));
      return;
    }
  }
  auto why = m ? check_redis_message(*m, settings_.messages) : std::optional<std::string>("not a message");
  if (why) {
    received_invalid_.fetch_add(1, std::memory_order_relaxed);
    if (auto n = invalid_lines_.allow())
      log::warn("cluster: a message of {} bytes from Redis dropped: {}{}", text.size(), *why,
                log_limiter::suppressed_note(*n));
    return;
  }
  received_.fetch_add(1, std::memory_order_relaxed);
  const auto& f = m->fields;
  const auto conn = number<ms_conn_id>(f[0]).value_or(0);
  switch (m->kind) {
    case 'b': {
      if (f.size() > 7 && seen_before(fmt::format("{}:{}", f[0], f[1]))) return;
      auto frame = std::make_shared<const std::string>(make_event_frame(f[3], f[4], f[5] == "1"));
      deliver_(std::make_shared<const fanout>(
          fanout{std::move(frame), std::vector<std::string>(f.begin() + 6, f.end()), number<ms_conn_id>(f[2]).value_or(0)}));
      return;
    }
    case 'e':
      services_.emit(conn, f[1], f[2], f[3] == "1");
      return;
    case 'c':
      services_.close(conn, number<std::uint16_t>(f[1]).value_or(1000), f[2]);
      return;
    case 'j':
      services_.join(conn, f[1]);
      return;
    case 'l':
      services_.leave(conn, f[1]);
      return;
  }
}

void redis_bus::members(std::string room, members_answer answer) {
  at_home([this, room = std::move(room), answer = std::move(answer)]() mutable {
    auto& s = shard_of(room);
    auto sent = s.pub.command({"EVAL", live_members_script, "1", members_key + room, alive_key},
                              [answer](const redisReply* r) {
                                if (!r || r->type != REDIS_REPLY_ARRAY) return answer(MS_REFUSED, {});
                                std::vector<ms_conn_id> ids;
                                for (std::size_t i = 0; i < r->elements; ++i)
                                  if (r->element[i]->type == REDIS_REPLY_STRING)
                                    if (auto id = number<ms_conn_id>(text(*r->element[i]))) ids.push_back(*id);
                                answer(MS_OK, std::move(ids));
                              });
    if (sent != redis_connection::sent::ok) answer(MS_REFUSED, {});
  });
}

std::string redis_bus::metrics() const {
  std::string out;
  auto one = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    fmt::format_to(std::back_inserter(out), "# HELP microsockets_{0} {1}\n# TYPE microsockets_{0} {2}\nmicrosockets_{0} {3}\n",
                   name, help, type, value);
  };
  one("redis_instances", "gauge", "Redis instances given with --redis.", shard_count_);
  one("redis_instances_up", "gauge", "Redis instances whose two connections answer (below redis_instances: degraded).",
      shards_up_.load());
  one("redis_subscriptions", "gauge", "Channels Redis has confirmed a subscription to.", subscribed_.load());
  one("redis_published_total", "counter", "Cross-host messages Redis accepted (counted on its reply).", published_.load());
  one("redis_received_total", "counter", "Messages from other hosts acted on.", received_.load());
  one("redis_received_own_total", "counter", "This host's own broadcasts that Redis sent back, dropped on arrival.",
      received_own_.load());
  one("redis_received_stale_total", "counter",
      "Messages from Redis dropped as older than --redis-timeout (held by a stalled Redis, or clocks apart).",
      received_stale_.load());
  one("redis_received_invalid_total", "counter",
      "Messages from Redis dropped as malformed, of an unknown kind or over this host's limits.", received_invalid_.load());
  out += "# HELP microsockets_redis_dropped_total Cross-host messages not sent: Redis unreachable, over "
         "--redis-max-pending (backlog), its connection lost before Redis answered (unanswered), over --max-message "
         "(too_big).\n# TYPE microsockets_redis_dropped_total counter\n";
  constexpr std::array<std::string_view, reasons> names{"unreachable", "backlog", "unanswered", "too_big"};
  for (std::size_t i = 0; i < names.size(); ++i)
    fmt::format_to(std::back_inserter(out), "microsockets_redis_dropped_total{{reason=\"{}\"}} {}\n", names[i],
                   dropped_[i].load());
  one("redis_connections_lost_total", "counter", "Times a Redis that was up went away (closed, or no reply in time).",
      lost_.load());
  one("redis_memberships_rewritten_total", "counter",
      "Times this host found its liveness key lapsed (a pause, a stall) and wrote its members again.", rewritten_.load());
  return out;
}

}  // namespace microsockets
