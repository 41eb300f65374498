#include "redis_bus.hpp"

#include "log.hpp"
#include "redis_connection.hpp"
#include "redis_message.hpp"

#include <fmt/format.h>

#include <charconv>

namespace microsockets {
namespace {

using clock = std::chrono::steady_clock;

// A host refreshes its liveness key this often, and the key outlives a
// refresh by this much: a host killed outright leaves its members counted for
// at most member_lease (the README states it).
constexpr auto heartbeat_every = std::chrono::seconds(1);
constexpr auto member_lease = std::chrono::seconds(5);
// A message to several rooms comes once per room's channel, all within
// milliseconds; its id is kept this long to deliver it once.
constexpr auto dedup_window = std::chrono::seconds(5);

const std::string room_channel = "ms:room:";
const std::string host_channel = "ms:host:";
const std::string members_key = "ms:members:";
const std::string alive_key = "ms:alive:";

// Members of KEYS[1] (a hash conn -> host) on hosts whose ARGV[1]..host key
// still exists; fields of dead hosts are removed on the way.
constexpr std::string_view live_members_script = R"lua(
local fields = redis.call('HGETALL', KEYS[1])
local out, alive = {}, {}
for i = 1, #fields, 2 do
  local host = fields[i + 1]
  if alive[host] == nil then alive[host] = redis.call('EXISTS', ARGV[1] .. host) == 1 end
  if alive[host] then out[#out + 1] = fields[i] else redis.call('HDEL', KEYS[1], fields[i]) end
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

}  // namespace

struct redis_bus::shard {
  shard(net::io_context& home, const redis_address& a) : sub(home, a, false), pub(home, a, true) {}
  redis_connection sub;  // SUBSCRIBE only: its reading is never held up by replies
  redis_connection pub;  // PUBLISH, membership, heartbeats
  std::unordered_map<std::string, channel> channels;
  bool healthy = false;
  bool ever_up = false;
  bool warned = false;
  clock::time_point lost_at;
};

redis_bus::redis_bus(net::io_context& home, std::vector<redis_address> addresses, std::uint32_t host_id,
                     host_services& services, std::function<void(std::shared_ptr<const fanout>)> deliver)
    : home_(home),
      host_id_(host_id),
      host_hex_(fmt::format("{:x}", host_id)),
      services_(services),
      deliver_(std::move(deliver)),
      shard_count_(unsigned(addresses.size())),
      heartbeat_timer_(home) {
  for (const auto& a : addresses) {
    auto& s = *shards_.emplace_back(std::make_unique<shard>(home, a));
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
      registered_again(s);
      connection_changed(s, {});
    };
    s.sub.on_down = [this, &s, resubscribe](std::string why) {
      resubscribe();  // not connected: only forgets the old connection's subscriptions
      connection_changed(s, std::move(why));
    };
    s.pub.on_down = [this, &s](std::string why) { connection_changed(s, std::move(why)); };
  }
  const std::string mine = host_channel + host_hex_;
  shard_of(mine).channels[mine].wanted = true;
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

void redis_bus::connection_changed(shard& s, std::string why) {
  const bool healthy = s.sub.up() && s.pub.up();
  const auto label = s.pub.address().label();
  if (!healthy && !why.empty()) {
    if (s.healthy) {
      s.lost_at = clock::now();
      lost_.fetch_add(1, std::memory_order_relaxed);
      shards_up_.fetch_sub(1);
      log::warn("redis {} lost ({}): local rooms keep working, cross-host messages are dropped until it is back", label,
                why);
    } else if (!s.ever_up && !s.warned) {
      log::warn("redis {} unreachable ({}): local rooms work, retrying", label, why);
    }
    s.warned = true;
    s.healthy = false;
    return;
  }
  if (healthy && !s.healthy) {
    shards_up_.fetch_add(1);
    if (s.ever_up)
      log::info("redis {} back after {:.1f} s: resubscribed", label,
                std::chrono::duration<double>(clock::now() - s.lost_at).count());
    else
      log::info("redis {} connected", label);
    s.healthy = s.ever_up = true;
  }
}

// Redis may have come back empty (a restart without persistence): this
// host's liveness and memberships are written again.
void redis_bus::registered_again(shard& s) {
  s.pub.command({"SET", alive_key + host_hex_, "1", "PX", std::to_string(std::chrono::milliseconds(member_lease).count())});
  for (const auto& [room, conns] : rooms_) {
    if (&shard_of(room) != &s) continue;
    std::vector<std::string> ids;
    for (auto c : conns) ids.push_back(std::to_string(c));
    std::vector<std::string_view> args{"HSET", {}};
    const std::string key = members_key + room;
    args[1] = key;
    for (const auto& id : ids) {
      args.push_back(id);
      args.push_back(host_hex_);
    }
    s.pub.command(args);
  }
}

void redis_bus::heartbeat() {
  if (stopped_) return;
  const auto lease = std::to_string(std::chrono::milliseconds(member_lease).count());
  for (auto& s : shards_) s->pub.command({"SET", alive_key + host_hex_, "1", "PX", lease});
  const auto old = clock::now() - dedup_window;
  while (!seen_order_.empty() && seen_order_.front().first < old) {
    seen_.erase(seen_order_.front().second);
    seen_order_.pop_front();
  }
  heartbeat_timer_.expires_after(heartbeat_every);
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
    s.pub.command({"HSET", members_key + room, std::to_string(conn), host_hex_});
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

void redis_bus::published(std::shared_ptr<const fanout> job) {
  at_home([this, job = std::move(job)] {
    const auto seq = std::to_string(++sequence_);
    const auto skip = std::to_string(job->skip);
    std::vector<std::string_view> fields{host_hex_, seq, skip, *job->frame};
    for (const auto& r : job->rooms) fields.push_back(r);
    const auto message = encode_redis_message('b', fields);
    for (const auto& r : job->rooms) {
      auto& s = shard_of(r);
      if (s.pub.command({"PUBLISH", room_channel + r, message})) published_.fetch_add(1, std::memory_order_relaxed);
      else dropped_.fetch_add(1, std::memory_order_relaxed);
    }
  });
}

void redis_bus::send_to_host(ms_conn_id conn, char kind, const std::vector<std::string_view>& fields) {
  auto message = encode_redis_message(kind, fields);
  at_home([this, conn, message = std::move(message)] {
    const auto channel = host_channel + fmt::format("{:x}", worker::host_of(conn));
    if (shard_of(channel).pub.command({"PUBLISH", channel, message})) published_.fetch_add(1, std::memory_order_relaxed);
    else dropped_.fetch_add(1, std::memory_order_relaxed);
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
  if (!seen_.insert(key).second) return true;
  seen_order_.emplace_back(clock::now(), std::move(key));
  return false;
}

void redis_bus::received(std::string_view text) {
  auto m = decode_redis_message(text);
  if (!m) {
    log::debug("cluster: malformed message ignored");
    return;
  }
  received_.fetch_add(1, std::memory_order_relaxed);
  const auto& f = m->fields;
  auto conn = [&] { return f.empty() ? std::nullopt : number<ms_conn_id>(f[0]); };
  switch (m->kind) {
    case 'b': {
      if (f.size() < 5 || f[0] == host_hex_) return;  // our own, delivered locally already
      if (f.size() > 5 && seen_before(fmt::format("{}:{}", f[0], f[1]))) return;
      auto skip = number<ms_conn_id>(f[2]).value_or(0);
      deliver_(std::make_shared<const fanout>(fanout{std::make_shared<const std::string>(f[3]),
                                                     std::vector<std::string>(f.begin() + 4, f.end()), skip}));
      return;
    }
    case 'e':
      if (f.size() == 4 && conn()) services_.emit(*conn(), f[1], f[2], f[3] == "1");
      return;
    case 'c':
      if (f.size() == 3 && conn()) services_.close(*conn(), number<std::uint16_t>(f[1]).value_or(1000), f[2]);
      return;
    case 'j':
      if (f.size() == 2 && conn()) services_.join(*conn(), f[1]);
      return;
    case 'l':
      if (f.size() == 2 && conn()) services_.leave(*conn(), f[1]);
      return;
    default:
      log::debug("cluster: message of unknown kind '{}' ignored", m->kind);
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
    if (!sent) answer(MS_REFUSED, {});
  });
}

std::string redis_bus::metrics() const {
  return fmt::format(
      "microsockets_redis_instances {}\n"
      "microsockets_redis_instances_up {}\n"
      "microsockets_redis_subscriptions {}\n"
      "microsockets_redis_published_total {}\n"
      "microsockets_redis_received_total {}\n"
      "microsockets_redis_dropped_total {}\n"
      "microsockets_redis_connections_lost_total {}\n",
      shard_count_, shards_up_.load(), subscribed_.load(), published_.load(), received_.load(), dropped_.load(), lost_.load());
}

}  // namespace microsockets
