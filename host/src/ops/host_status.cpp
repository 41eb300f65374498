#include "ops/host_status.hpp"

#include "base/stats.hpp"

#include <unordered_set>

namespace microsockets {

std::string host_status::metrics() const {
  worker_totals totals;
  for (auto& w : workers_) totals.add(w->traffic());
  if (workers_.size() == 1) {
    totals.rooms = workers_[0]->room_count();
  } else {  // a room with members on several threads counts once
    std::unordered_set<std::string> names;
    for (auto& w : workers_)
      if (auto some = w->room_names()) names.insert(some->begin(), some->end());
    totals.rooms = names.size();
  }
  return counters.render(totals) + connections_.bus().metrics();
}

health_answer host_status::health() const {
  if (auto stuck = watchdog_.report(); !stuck.empty())
    return {false, "stuck: a plugin call does not return\n" + stuck};
  return {true, connections_.bus().degraded() ? "degraded: a Redis is unreachable, rooms are local only\n" : "ok\n"};
}

}  // namespace microsockets
