// A plugin that exposes the whole SDK to the integration tests, one event per
// capability. Payload formats are plain text so tests can build them by hand.
#include <microsockets/plugin.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ms = microsockets;

namespace {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (true) {
    auto at = s.find(sep);
    out.emplace_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s = s.substr(at + 1);
  }
}

std::string status_name(ms::status s) {
  switch (s) {
    case ms::status::ok: return "ok";
    case ms::status::gone: return "gone";
    case ms::status::invalid: return "invalid";
    case ms::status::not_found: return "not_found";
    case ms::status::refused: return "refused";
    default: return "other";
  }
}

// Threads that outlive a handler; joined at shutdown so none runs past unload.
std::mutex threads_mutex;
std::vector<std::thread> threads;
void later(std::function<void()> fn) {
  std::lock_guard lock(threads_mutex);
  threads.emplace_back(std::move(fn));
}

// One thread of the plugin's own that runs tasks in the order given, as a
// plugin's database or timer thread would; stopped at on_shutdown.
class own_thread {
 public:
  void run(std::function<void()> task) {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    tasks_.push_back(std::move(task));
    wake_.notify_one();
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      wake_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  std::thread thread_;
  bool stopping_ = false;
};
own_thread worker_thread;

// Calls on another connection (`target`, usually owned by another host
// thread) whose order its client checks. "kind|room|target|tag".
void sequence(const ms::app& app, std::string_view spec) {
  auto parts = split(spec, '|');
  const std::string &kind = parts.at(0), &room = parts.at(1), &tag = parts.at(3);
  ms::connection target = app.connection_of(std::stoull(parts.at(2)));
  ms::connection none = app.connection_of(0);  // a broadcast that no connection sends
  if (kind == "kick") {
    none.broadcast("bye", tag, {room});
    target.close(4000, "kicked");
  } else if (kind == "emit") {
    none.broadcast("first", tag, {room});
    target.emit("second", tag);
  } else if (kind == "leave") {
    none.broadcast("one", tag, {room});
    target.leave(room);
    none.broadcast("two", tag, {room});
    target.emit("done", tag);
  } else if (kind == "join") {
    target.join(room + "+");
    none.broadcast("welcome", tag, {room + "+"});
  } else if (kind == "set") {
    target.set("mark", tag);
    target.emit("marked", tag);
  }
}

std::mutex remembered_mutex;
ms::connection remembered;
std::mutex report_mutex;
std::string last_report;  // what "close_then_emit" saw, asked for by another client
std::atomic<int> malformed{0};
std::atomic<int> last_close_code{0};

}  // namespace

MICROSOCKETS_PLUGIN(probe) {
  app.on("echo", [](ms::socket& ws) { ws.emit("echo", ws.payload()); });
  app.on("echo_json", [](ms::socket& ws) { ws.emit("echo_json", status_name(ws.emit_json("raw", ws.payload()))); });
  app.on("join", [](ms::socket& ws) {
    ws.join(ws.payload());
    ws.emit("joined", ws.payload());
  });
  // The status the host gave the join (limits: refused past them).
  app.on("join_status", [](ms::socket& ws) { ws.emit("join_status", status_name(ws.join(ws.payload()))); });
  app.on("leave", [](ms::socket& ws) {
    ws.leave(ws.payload());
    ws.emit("left", ws.payload());
  });
  app.on("rooms", [](ms::socket& ws) {
    std::string list;
    for (const auto& r : ws.rooms()) list += (list.empty() ? "" : ",") + r;
    ws.emit("rooms", list);
  });
  // "room1,room2|skip_self(0/1)|text"
  app.on("say", [](ms::socket& ws) {
    auto parts = split(ws.payload(), '|');
    ws.broadcast("said", parts.at(2), split(parts.at(0), ','), parts.at(1) == "1");
  });
  // "skip_self(0/1)|text", to every room of the sender (the chat example's way)
  app.on("say_to_my_rooms", [](ms::socket& ws) {
    auto parts = split(ws.payload(), '|');
    const auto rooms = ws.rooms();
    ws.broadcast("said", parts.at(1), std::vector<std::string>(rooms.begin(), rooms.end()), parts.at(0) == "1");
  });
  // "key=value"
  app.on("set", [](ms::socket& ws) {
    auto kv = split(ws.payload(), '=');
    ws.set(kv.at(0), kv.at(1));
    ws.emit("set", kv.at(0));
  });
  app.on("get", [](ms::socket& ws) { ws.emit("get", ws.get(ws.payload()).value_or("<none>")); });
  app.on("request", [](ms::socket& ws) {
    ws.emit("request", ws.path() + "|" + ws.query("q").value_or("<none>") + "|" +
                           ws.header("X-Probe-Header").value_or("<none>") + "|" + ws.remote());
  });
  app.on("close", [](ms::socket& ws) { ws.close(std::uint16_t(std::stoi(std::string(ws.payload()))), "probe closes"); });
  app.on("throw", [](ms::socket&) -> void { throw std::runtime_error("probe was asked to throw"); });

  // The thread-safe handle: reply from another thread after a delay.
  app.on("later", [](ms::socket& ws) {
    later([conn = ws.handle(), text = std::string(ws.payload())] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      conn.emit("later", text);
    });
  });
  app.on("remember", [](ms::socket& ws) {
    std::lock_guard lock(remembered_mutex);
    remembered = ws.handle();
    ws.emit("remembered");
  });
  // Uses the remembered handle from another thread and reports what each call returned.
  app.on("poke", [](ms::socket& ws) {
    later([conn = ws.handle()] {
      ms::connection target;
      {
        std::lock_guard lock(remembered_mutex);
        target = remembered;
      }
      std::string report = status_name(target.emit("poked")) + "," + status_name(target.join("x")) + "," +
                           status_name(target.broadcast("said", "from a thread", {"x"})) + "," +
                           status_name(target.close()) + "," + status_name(target.rooms().status) + "," +
                           status_name(target.set("k", "v"));
      conn.emit("poke", report);
    });
  });

  app.on("whoami", [](ms::socket& ws) { ws.emit("whoami", std::to_string(ws.id())); });
  // See sequence(): run here, on the host's thread of this connection, or
  // from the plugin's own thread.
  app.on("sequence", [&app](ms::socket& ws) { sequence(app, ws.payload()); });
  app.on("sequence_thread", [&app](ms::socket& ws) {
    worker_thread.run([&app, spec = std::string(ws.payload())] { sequence(app, spec); });
  });

  // What each call on this connection, run in place, returned. Payload: a room.
  app.on("statuses", [](ms::socket& ws) {
    const std::string room(ws.payload());
    std::string report = "join:" + status_name(ws.join(room));
    report += ",join_again:" + status_name(ws.join(room));
    report += ",rooms:" + status_name(ws.rooms().status);
    report += ",leave:" + status_name(ws.leave(room));
    report += ",leave_again:" + status_name(ws.leave(room));
    report += ",set_payload:" + status_name(ws.set_payload("replaced"));
    report += ",close_999:" + status_name(ws.close(999));
    ws.emit("statuses", report);
  });
  app.on("close_then_emit", [](ms::socket& ws) {
    std::string report = "close:" + status_name(ws.close(4002, "closing"));
    report += ",emit:" + status_name(ws.emit("after close"));
    report += ",close_again:" + status_name(ws.close(4003));
    std::lock_guard lock(report_mutex);
    last_report = report;
  });
  app.on("last_report", [](ms::socket& ws) {
    std::lock_guard lock(report_mutex);
    ws.emit("last_report", last_report);
  });
  // Calls from the plugin's own thread are queued: "ok" means accepted, even
  // for a leave of a room the connection is not in.
  app.on("thread_statuses", [](ms::socket& ws) {
    worker_thread.run([conn = ws.handle()] {
      std::string report = "emit:" + status_name(conn.emit("from_thread"));
      report += ",leave:" + status_name(conn.leave("never joined"));
      conn.emit("thread_statuses", report);
    });
  });

  app.on("malformed_seen", [](ms::socket& ws) { ws.emit("malformed_seen", std::to_string(malformed.load())); });
  app.on("last_close_code", [](ms::socket& ws) { ws.emit("last_close_code", std::to_string(last_close_code.load())); });
  app.on("setting", [&app](ms::socket& ws) { ws.emit("setting", app.config(ws.payload()).value_or("<none>")); });

  // Across hosts: ids travel as decimal text (64 bits do not fit a JS number).
  // "room" -> "count|id,id,..." (ids sorted), or "refused"
  app.on("members", [](ms::socket& ws) {
    ws.room_members(ws.payload(), [conn = ws.handle()](ms::status rc, std::vector<ms::connection> members) {
      if (rc != ms::status::ok) {
        conn.emit("members", status_name(rc));
        return;
      }
      std::vector<ms_conn_id> ids;
      for (const auto& m : members) ids.push_back(m.id());
      std::sort(ids.begin(), ids.end());
      std::string list;
      for (auto id : ids) list += (list.empty() ? "" : ",") + std::to_string(id);
      conn.emit("members", std::to_string(ids.size()) + "|" + list);
    });
  });
  // "id|emit|text", "id|join|room", "id|leave|room", "id|close|code", "id|get|key", "id|rooms|"
  // on a handle built from the id alone (e.g. one stored by another host); replies the status.
  app.on("handle", [&app](ms::socket& ws) {
    auto parts = split(ws.payload(), '|');
    auto target = app.connection_of(std::stoull(parts.at(0)));
    const auto& op = parts.at(1);
    const auto& arg = parts.at(2);
    ms::status rc = ms::status::invalid;
    if (op == "emit") rc = target.emit("handled", arg);
    else if (op == "join") rc = target.join(arg);
    else if (op == "leave") rc = target.leave(arg);
    else if (op == "close") rc = target.close(std::uint16_t(std::stoi(arg)), "closed by a handle");
    else if (op == "get") rc = target.get(arg) ? ms::status::ok : ms::status::not_found;
    else if (op == "rooms") rc = target.rooms().empty() ? ms::status::not_found : ms::status::ok;
    ws.emit("handle", status_name(rc));
  });

  app.fallback([](ms::socket& ws) { ws.emit("unknown", ws.event()); });
  app.on_error([](ms::connection, std::string_view) { ++malformed; });
  app.on_disconnect([](ms::connection, std::uint16_t code) { last_close_code = code; });

  // ?reject=403 refuses the upgrade; an offered "probe.v1" subprotocol is
  // chosen; ?misuse=1 makes calls the host refuses and keeps their statuses
  // as the attribute "handshake_statuses".
  app.on_connect([](ms::handshake& hs) {
    if (auto status = hs.query("reject")) return (void)hs.reject(std::uint16_t(std::stoi(*status)), "rejected by probe");
    if (hs.query("misuse")) {
      std::string report = "reject_200:" + status_name(hs.reject(200, "not an error status"));
      report += ",header_name:" + status_name(hs.set_header("Bad Name", "x"));
      report += ",header_value:" + status_name(hs.set_header("X-Split", "a\r\nSet-Cookie: b"));
      report += ",protocol:" + status_name(hs.select_protocol("never offered"));
      report += ",set:" + status_name(hs.set("k", "v"));
      hs.set("handshake_statuses", report);
    }
    hs.set_header("X-Probe", "accepted");
    hs.select_protocol("probe.v1");
    hs.set("greeting", "set during on_connect");
  });

  app.on_startup([&app] { app.log(ms::log_level::info, "probe started"); });
  app.on_shutdown([&app] {
    std::vector<std::thread> pending;
    {
      std::lock_guard lock(threads_mutex);
      pending.swap(threads);
    }
    for (auto& t : pending) t.join();
    worker_thread.stop();
    app.log(ms::log_level::info, "probe shut down");
  });
}
