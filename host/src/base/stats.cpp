#include "base/stats.hpp"

#include <microsockets/abi.h>

#include <fmt/format.h>

#include <iterator>

namespace microsockets {

stats counters;

namespace {

// Label values may hold any text: escape what the format reserves.
std::string escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP microsockets_{} {}\n# TYPE microsockets_{} {}\n", name, help, name, type);
}

template <class T>
void sample(std::string& out, std::string_view name, T value, std::string_view labels = {}) {
  fmt::format_to(std::back_inserter(out), "microsockets_{}{} {}\n", name, labels, value);
}

}  // namespace

metric::metric(std::vector<const metric*>& all, kind t, std::string_view n, std::string_view h, std::string_view l)
    : std::atomic<std::int64_t>(0), type(t), name(n), help(h), labels(l) {
  all.push_back(this);
}

void worker_totals::add(const traffic& t) {
  messages_in += t.messages_in.get();
  bytes_in += t.bytes_in.get();
  messages_out += t.messages_out.get();
  bytes_out += t.bytes_out.get();
}

void duration_histogram::observe(std::chrono::nanoseconds d) {
  const double seconds = std::chrono::duration<double>(d).count();
  std::size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(std::uint64_t(d.count()), std::memory_order_relaxed);
}

void duration_histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  // The count is the sum of the buckets read here, so +Inf and _count agree
  // even while other threads observe.
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    const std::string le = i < bounds.size() ? fmt::format("{}", bounds[i]) : "+Inf";
    sample(out, fmt::format("{}_bucket", name), cumulative, fmt::format("{{{},le=\"{}\"}}", labels, le));
  }
  sample(out, fmt::format("{}_sum", name), double(sum_ns_.load(std::memory_order_relaxed)) / 1e9, fmt::format("{{{}}}", labels));
  sample(out, fmt::format("{}_count", name), cumulative, fmt::format("{{{}}}", labels));
}

void stats::plugin_loaded(std::string_view plugin, bool reloaded) {
  std::lock_guard lock(mutex_);
  plugins_[std::string(plugin)].reloads += reloaded;
}

void stats::plugin_refused(std::string_view plugin) {
  std::lock_guard lock(mutex_);
  ++plugins_[std::string(plugin)].refusals;
}

duration_histogram& stats::event_timing(std::string_view event) {
  if (event == other_events) return other_events_;  // one series per label value
  std::lock_guard lock(mutex_);
  auto it = events_.find(event);
  if (it == events_.end()) it = events_.emplace(std::string(event), std::make_unique<duration_histogram>()).first;
  return *it->second;
}

std::string stats::render(const worker_totals& workers) const {
  std::string out;
  family(out, "build_info", "gauge", "The host's version and the plugin ABI version it speaks; always 1.");
  sample(out, "build_info", 1,
         fmt::format("{{version=\"{}\",abi_version=\"{}.{}\"}}", MICROSOCKETS_VERSION, MS_ABI_MAJOR, MS_ABI_MINOR));
  auto one = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    family(out, name, type, help);
    sample(out, name, value);
  };
  for (std::size_t i = 0; i < all.size(); ++i) {
    const metric* m = all[i];
    if (i == 0 || all[i - 1]->name != m->name) family(out, m->name, m->type == metric::counter ? "counter" : "gauge", m->help);
    sample(out, m->name, m->load(), m->labels.empty() ? std::string() : fmt::format("{{{}}}", m->labels));
  }
  one("messages_received_total", "counter", "WebSocket messages received.", workers.messages_in);
  one("messages_received_bytes_total", "counter", "Bytes of the messages received (their text).", workers.bytes_in);
  one("messages_sent_total", "counter", "Messages queued to clients, one per recipient.", workers.messages_out);
  one("messages_sent_bytes_total", "counter", "Bytes of the frames queued to clients, headers included.",
      workers.bytes_out);
  one("rooms", "gauge", "Rooms with at least one member on this host.", workers.rooms);

  std::lock_guard lock(mutex_);
  family(out, "plugin_reloads_total", "counter", "Times a new version of a plugin was loaded in place of the old.");
  for (const auto& [name, p] : plugins_)
    sample(out, "plugin_reloads_total", p.reloads, fmt::format("{{plugin=\"{}\"}}", escape(name)));
  family(out, "plugin_refusals_total", "counter", "Plugin libraries refused at load or reload.");
  for (const auto& [name, p] : plugins_)
    sample(out, "plugin_refusals_total", p.refusals, fmt::format("{{plugin=\"{}\"}}", escape(name)));
  family(out, "event_duration_seconds", "histogram",
         "Time an event spent in plugins (middleware and handler), by registered event; others share (other).");
  for (const auto& [event, h] : events_) h->render(out, "event_duration_seconds", fmt::format("event=\"{}\"", escape(event)));
  other_events_.render(out, "event_duration_seconds", fmt::format("event=\"{}\"", other_events));
  return out;
}

}  // namespace microsockets
