// loadgen: drives one workload against one server and prints one JSON line.
//
//   loadgen --workload fanout|echo|idle|connect --port P [--protocol json|socketio]
//           [--clients N] [--rooms R] [--messages M] [--seconds S] [--window W]
//           [--payload BYTES] [--server-pid PID] [--member-ports P1,P2,...]
//
// Every run is bounded: by its counts and by --timeout seconds. Traffic goes
// to 127.0.0.1 only.
#include "event_loop.hpp"
#include "measure.hpp"
#include "protocol.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen {
namespace {

struct options {
  std::string workload = "fanout";
  protocol proto = protocol::json;
  int port = 8000;
  int clients = 1000;
  int rooms = 1;
  int messages = 2000;
  double seconds = 10;
  // Fan-out messages in flight (not yet delivered to every member); 0: as many
  // as the publisher's socket takes, i.e. as fast as the server reads.
  int window = 0;
  int concurrency = 50;    // connect workload: connectors at once
  int payload = 64;        // bytes of a "say" or "echo" payload
  int server_pid = 0;
  double timeout = 120;
  // Fan-out across hosts: members spread round robin over these ports, the
  // publisher on --port.
  std::vector<int> member_ports;
  // Seconds to wait after the members joined before publishing: other hosts'
  // subscriptions to the room must be in place first.
  double settle = 0;
  // "browser": upgrade requests carry what a browser's do (W3-browser).
  std::string headers = "minimal";
};

// What Chromium sends with a WebSocket upgrade from a page, beyond the
// handshake's own headers.
constexpr const char* browser_headers =
    "Pragma: no-cache\r\nCache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36\r\n"
    "Origin: http://127.0.0.1:8000\r\nAccept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

options parse(int argc, char** argv) {
  options o;
  std::map<std::string, std::string> args;
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  auto num = [&](const char* name, auto& out) {
    if (auto it = args.find(name); it != args.end()) out = decltype(out + 0)(std::stod(it->second));
  };
  if (args.count("--workload")) o.workload = args["--workload"];
  if (args.count("--headers")) o.headers = args["--headers"];
  if (args.count("--protocol")) o.proto = args["--protocol"] == "socketio" ? protocol::socketio : protocol::json;
  num("--port", o.port);
  num("--clients", o.clients);
  num("--rooms", o.rooms);
  num("--messages", o.messages);
  num("--seconds", o.seconds);
  num("--window", o.window);
  num("--concurrency", o.concurrency);
  num("--payload", o.payload);
  num("--server-pid", o.server_pid);
  num("--timeout", o.timeout);
  num("--settle", o.settle);
  if (args.count("--member-ports"))
    for (std::string_view rest = args["--member-ports"]; !rest.empty();) {
      const auto comma = rest.find(',');
      o.member_ports.push_back(std::stoi(std::string(rest.substr(0, comma))));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  return o;
}

// A connection speaking the server's protocol: `ready` once it can send
// events, `on_event` for each event; Engine.IO pings are answered here.
struct client {
  connection* conn;
  protocol proto;
  std::function<void(client&)> ready;
  std::function<void(client&, const event&)> on_event;
  std::function<void(client&, std::string_view)> closed;

  void emit(std::string_view name, std::string_view payload) { conn->send_text(encode(proto, name, payload)); }
  void queue(std::string_view name, std::string_view payload) { conn->queue_text(encode(proto, name, payload)); }
};

std::unique_ptr<client> open_client(event_loop& loop, protocol proto, int port = 0) {
  auto c = std::make_unique<client>();
  c->proto = proto;
  c->conn = &loop.connect(std::string(connect_path(proto)), port);
  client* self = c.get();
  c->conn->on_open = [self](connection&) {
    if (self->proto == protocol::json && self->ready) self->ready(*self);
  };
  c->conn->on_text = [self](connection& conn, std::string_view text) {
    if (self->proto == protocol::socketio) {
      if (text == "2") return conn.send_text("3");         // Engine.IO ping
      if (text.starts_with("0{")) return conn.send_text("40");  // open: join the default namespace
      if (text.starts_with("40")) {
        if (self->ready) self->ready(*self);
        return;
      }
    }
    if (auto e = decode(self->proto, text); e && self->on_event) self->on_event(*self, *e);
  };
  c->conn->on_close = [self](connection&, std::string_view why) {
    if (self->closed) self->closed(*self, why);
  };
  return c;
}

std::string padded(std::string head, int size) {
  if (int(head.size()) < size) head.append(std::size_t(size) - head.size(), 'x');
  return head;
}

std::uint64_t leading_number(std::string_view s, std::size_t& at) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data() + at, s.data() + s.size(), value);
  at = std::size_t(end - s.data()) + 1;
  return value;
}

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "loadgen: %s\n", why.c_str());
  std::exit(1);
}

// Opens `n` clients, `opening` at a time, each joining room (i % rooms);
// returns once every one has its "joined".
std::vector<std::unique_ptr<client>> join_clients(event_loop& loop, const options& o, int n,
                                                  const std::vector<int>& ports = {}) {
  std::vector<std::unique_ptr<client>> clients;
  int joined = 0, failed = 0, started = 0;
  std::string first_error;
  const int opening = 256;
  auto start_more = [&] {
    while (started < n && started - joined - failed < opening) {
      auto c = open_client(loop, o.proto, ports.empty() ? 0 : ports[std::size_t(started) % ports.size()]);
      const std::string room = "room" + std::to_string(started % o.rooms);
      c->ready = [room](client& self) { self.emit("join", room); };
      c->on_event = [&joined](client& self, const event& e) {
        if (e.name == "joined") {
          ++joined;
          self.on_event = nullptr;
        }
      };
      c->closed = [&](client&, std::string_view why) {
        ++failed;
        if (first_error.empty()) first_error = std::string(why);
      };
      clients.push_back(std::move(c));
      ++started;
    }
  };
  start_more();
  if (!loop.run_until([&] { return joined + failed >= n; }, std::int64_t(o.timeout * 1000), start_more))
    die("timed out joining clients (" + std::to_string(joined) + " of " + std::to_string(n) + " joined)");
  if (failed) die(std::to_string(failed) + " clients failed to join: " + first_error);
  return clients;
}

void fanout(const options& o, event_loop& loop) {
  auto members = join_clients(loop, o, o.clients, o.member_ports);
  auto publisher = std::move(join_clients(loop, o, 1).front());
  if (o.settle > 0) loop.run_until([] { return false; }, std::int64_t(o.settle * 1000));
  const std::uint64_t expected = std::uint64_t(o.messages) * std::uint64_t(o.clients);
  std::vector<std::uint32_t> delivered(std::size_t(o.messages), 0);
  std::vector<std::uint32_t> latencies;
  latencies.reserve(expected);
  std::uint64_t received = 0;
  int sent = 0, completed = 0, disconnected = 0;
  std::int64_t last = 0;

  for (auto& m : members) {
    m->on_event = [&](client&, const event& e) {
      if (e.name != "said") return;
      const auto now = now_us();
      std::size_t at = 0;
      const auto sent_at = leading_number(e.payload, at);
      const auto id = leading_number(e.payload, at);
      latencies.push_back(std::uint32_t(now - std::int64_t(sent_at)));
      ++received;
      last = now;
      if (id < delivered.size() && ++delivered[id] == std::uint32_t(o.clients)) ++completed;
    };
    m->closed = [&](client&, std::string_view) { ++disconnected; };
  }
  cpu_window cpu(o.server_pid);
  const auto start = now_us();
  // Publish as fast as the server reads (or keep `window` messages in flight).
  constexpr std::size_t unsent_limit = 64 * 1024;
  auto publish = [&] {
    bool queued = false;
    while (sent < o.messages && (o.window == 0 || sent - completed < o.window) &&
           publisher->conn->unsent() < unsent_limit) {
      publisher->queue("say", padded(std::to_string(now_us()) + " " + std::to_string(sent) + " ", o.payload));
      ++sent;
      queued = true;
    }
    if (queued) publisher->conn->flush();
  };
  publish();
  loop.run_until([&] { return received >= expected || disconnected > 0; }, std::int64_t(o.timeout * 1000), publish);
  const double seconds = double((last ? last : now_us()) - start) / 1e6;
  std::printf(
      "{\"workload\":\"fanout\",\"clients\":%d,\"messages\":%d,\"delivered\":%llu,\"lost\":%llu,"
      "\"disconnected\":%d,\"seconds\":%.3f,\"rate\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
      "\"server_cpu\":%.0f,\"gen_cpu\":%.0f}\n",
      o.clients, o.messages, (unsigned long long)received, (unsigned long long)(expected - received), disconnected,
      seconds, double(received) / seconds, percentile_ms(latencies, 0.5), percentile_ms(latencies, 0.99),
      cpu.server_percent(seconds), cpu.own_percent(seconds));
}

void echo(const options& o, event_loop& loop) {
  auto clients = join_clients(loop, o, o.clients);
  std::vector<std::uint32_t> latencies;
  std::uint64_t round_trips = 0;
  int disconnected = 0;
  // The send time, then padding to exactly --payload bytes.
  auto ping = [&](client& c) { c.emit("echo", padded(std::to_string(now_us()) + " ", o.payload)); };
  cpu_window cpu(o.server_pid);
  const auto start = now_us();
  const auto end = start + std::int64_t(o.seconds * 1e6);
  for (auto& c : clients) {
    c->on_event = [&](client& self, const event& e) {
      if (e.name != "echo") return;
      const auto now = now_us();
      std::size_t at = 0;
      latencies.push_back(std::uint32_t(now - std::int64_t(leading_number(e.payload, at))));
      ++round_trips;
      if (now < end) ping(self);
    };
    c->closed = [&](client&, std::string_view) { ++disconnected; };
    ping(*c);
  }
  loop.run_until([&] { return now_us() >= end + 200000 || disconnected > 0; }, std::int64_t(o.seconds * 1000) + 5000);
  const double seconds = o.seconds;
  // The CPU seconds cover the whole window, the last answers' 200 ms
  // included, as the round trips do: their ratio is the cost of one.
  const double server_seconds = cpu.server_seconds(), own_seconds = cpu.own_seconds();
  const double per_trip = round_trips ? 1e6 / double(round_trips) : 0;
  std::printf(
      "{\"workload\":\"echo\",\"clients\":%d,\"payload\":%d,\"round_trips\":%llu,\"disconnected\":%d,"
      "\"seconds\":%.3f,\"rate\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"server_cpu\":%.0f,\"gen_cpu\":%.0f,"
      "\"server_cpu_seconds\":%.3f,\"gen_cpu_seconds\":%.3f,\"server_us_per_round_trip\":%.3f,"
      "\"gen_us_per_round_trip\":%.3f}\n",
      o.clients, o.payload, (unsigned long long)round_trips, disconnected, seconds, double(round_trips) / seconds,
      percentile_ms(latencies, 0.5), percentile_ms(latencies, 0.99), cpu.server_percent(seconds),
      cpu.own_percent(seconds), server_seconds, own_seconds, server_seconds * per_trip, own_seconds * per_trip);
}

void idle(const options& o, event_loop& loop) {
  if (o.server_pid <= 0) die("the idle workload needs --server-pid");
  // One client first, not counted: a server's first connection pages in code
  // and builds what it builds once (several hundred KiB of RSS, the same for
  // any number of connections), which would be charged to those measured.
  auto warm = join_clients(loop, o, 1);
  loop.run_until([] { return false; }, 300);
  const long before = resident_kib(o.server_pid);
  auto clients = join_clients(loop, o, o.clients);
  // Idle means idle: give the server a moment (1.5 s) to settle and give back
  // what it releases from quiet connections before reading its memory.
  loop.run_until([] { return false; }, 1500);
  const long after = resident_kib(o.server_pid);
  std::printf(
      "{\"workload\":\"idle\",\"clients\":%d,\"rooms\":%d,\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,"
      "\"kib_per_connection\":%.2f}\n",
      o.clients, o.rooms, before, after, double(after - before) / o.clients);
}

void connect_rate(const options& o, event_loop& loop) {
  std::uint64_t cycles = 0, failures = 0;
  std::vector<std::unique_ptr<client>> live;
  bool running = true;
  std::function<void()> start_one = [&] {
    auto c = open_client(loop, o.proto);
    c->ready = [](client& self) { self.emit("join", "connect-room"); };
    c->on_event = [&](client& self, const event& e) {
      if (e.name != "joined") return;
      ++cycles;
      self.conn->close_now();
      if (running) start_one();
    };
    c->closed = [&](client&, std::string_view) {
      ++failures;
      if (running) start_one();
    };
    live.push_back(std::move(c));
  };
  cpu_window cpu(o.server_pid);
  const auto start = now_us();
  const auto end = start + std::int64_t(o.seconds * 1e6);
  for (int i = 0; i < o.concurrency; ++i) start_one();
  loop.run_until([&] { return now_us() >= end; }, std::int64_t(o.seconds * 1000) + 1000, [&] {
    if (live.size() > 4096) {  // forget finished clients now and then
      std::erase_if(live, [](const auto& c) { return c->conn->current() == connection::state::closed; });
      loop.sweep();
    }
  });
  running = false;
  const double seconds = double(now_us() - start) / 1e6;
  const double server_seconds = cpu.server_seconds(), own_seconds = cpu.own_seconds();
  const double per_cycle = cycles ? 1e6 / double(cycles) : 0;
  std::printf(
      "{\"workload\":\"connect\",\"concurrency\":%d,\"cycles\":%llu,\"failures\":%llu,\"seconds\":%.3f,"
      "\"rate\":%.0f,\"server_cpu\":%.0f,\"gen_cpu\":%.0f,\"server_us_per_cycle\":%.3f,\"gen_us_per_cycle\":%.3f}\n",
      o.concurrency, (unsigned long long)cycles, (unsigned long long)failures, seconds, double(cycles) / seconds,
      cpu.server_percent(seconds), cpu.own_percent(seconds), server_seconds * per_cycle, own_seconds * per_cycle);
}

}  // namespace
}  // namespace loadgen

int main(int argc, char** argv) {
  using namespace loadgen;
  const options o = parse(argc, argv);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(std::uint16_t(o.port));
  ::inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);  // loopback only, by design
  event_loop loop(server);
  if (o.headers == "browser") loop.set_extra_headers(browser_headers);
  else if (o.headers != "minimal") die("unknown --headers '" + o.headers + "' (minimal or browser)");
  if (o.workload == "fanout") fanout(o, loop);
  else if (o.workload == "echo") echo(o, loop);
  else if (o.workload == "idle") idle(o, loop);
  else if (o.workload == "connect") connect_rate(o, loop);
  else die("unknown workload '" + o.workload + "'");
  std::fflush(stdout);
  std::_Exit(0);  // thousands of sockets: let the kernel close them
}
