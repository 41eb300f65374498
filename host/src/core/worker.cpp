#include "core/worker.hpp"

#include "base/tuning.hpp"

#include "plugins/crash_report.hpp"
#include "plugins/plugin_activity.hpp"
#include "websocket/websocket_session.hpp"

#include <fmt/format.h>

#include <array>

namespace microsockets {
namespace {
thread_local worker* current_worker = nullptr;
}  // namespace

worker::worker(unsigned index, unsigned idle_timeout_seconds, std::uint32_t host_id)
    : index_(index),
      host_id_(host_id),
      ioc_(1),
      sweep_timer_(ioc_),
      idle_timeout_(idle_timeout_seconds),
      read_buffer_(std::make_unique_for_overwrite<char[]>(tuning::read_buffer_bytes)),
      readiness_(ioc_) {}

bool worker::on_this_thread() const { return current_worker == this; }

worker* worker::current() { return current_worker; }

void worker::run() {
  current_worker = this;
  auto& slot = plugin_activity::this_thread();
  slot.claim(fmt::format("worker {}", index_).c_str());
  crash_report::prepare_thread();
  activity_.store(&slot, std::memory_order_release);
  auto keep_running = net::make_work_guard(ioc_);
  sweep();
  while (!ioc_.stopped()) run_turn();
  activity_.store(nullptr, std::memory_order_release);
  current_worker = nullptr;
}

void worker::run_turn() {
  current_worker = this;
  if (read_later_.empty()) {
    ioc_.run_one();
  } else {  // no waiting: some connections have more to read
    auto batch = std::move(read_later_);
    read_later_.clear();
    for (auto& s : batch) s->read_plain();
  }
  for (int i = 0; i < tuning::max_handlers_per_turn && ioc_.poll_one(); ++i) {
  }
  // Twice: writing can end a connection, and what its on_disconnect hook
  // sends goes out in this turn, not after the next wait.
  for (int round = 0; round < 2; ++round) {
    post_queued();
    flush_scheduled();
  }
  retired_.clear();  // the turn's readiness batch is done with them
}

void worker::schedule_flush(std::shared_ptr<websocket_session> session) {
  to_flush_.push_back(std::move(session));
}

void worker::flush_scheduled() {
  // A flush can schedule another (a session that had queued more); take the batch first.
  auto batch = std::move(to_flush_);
  to_flush_.clear();
  for (auto& s : batch) s->flush();
}

void worker::sweep() {
  for (auto& [id, session] : sessions_) session->check_idle(now_, idle_timeout_);
  publish_room_names();
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](error_code ec) {
    if (ec) return;
    ++now_;
    sweep();
  });
}

void worker::publish_room_names() {
  if (!room_names_stale_) return;
  room_names_stale_ = false;
  auto names = std::make_shared<std::vector<std::string>>();
  rooms_.for_each_room([&](const std::string& name) { names->push_back(name); });
  room_names_.store(std::move(names));
}

void worker::add(std::shared_ptr<websocket_session> session) {
  std::lock_guard lock(mutex_);
  const auto id = session->id();
  sessions_.emplace(id, std::move(session));
}

void worker::remove(websocket_session& session) {
  if (auto state = session.state()) {
    rooms_.leave_all(&session, state->rooms);
    room_count_.store(rooms_.room_count(), std::memory_order_relaxed);
    room_names_stale_ = true;
  }
  std::shared_ptr<websocket_session> keep;  // destroyed after the lock is released
  std::lock_guard lock(mutex_);
  if (auto it = sessions_.find(session.id()); it != sessions_.end()) {
    keep = std::move(it->second);
    sessions_.erase(it);
  }
}

std::size_t worker::session_count() {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

websocket_session* worker::find(ms_conn_id id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

std::shared_ptr<websocket_session> worker::find_shared(ms_conn_id id) {
  std::unique_lock lock(mutex_, std::defer_lock);
  if (!on_this_thread()) lock.lock();  // only this thread changes the map
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

bool worker::join(websocket_session& s, std::string_view room) {
  if (!rooms_.join(room, &s)) return false;
  s.change_state([&](connection_state& state) {
    state.rooms.emplace_back(room);
    state.room_bytes += room.size();
  });
  room_count_.store(rooms_.room_count(), std::memory_order_relaxed);
  room_names_stale_ = true;
  return true;
}

std::optional<std::string> worker::join_refusal(websocket_session& s, std::string_view room, std::size_t max_rooms,
                                                std::size_t max_room_bytes) {
  const auto state = s.state();  // as last published: any thread may ask
  const std::size_t rooms = state ? state->rooms.size() : 0, bytes = state ? state->room_bytes : 0;
  if (rooms < max_rooms && bytes + room.size() <= max_room_bytes) return std::nullopt;
  if (state && std::find(state->rooms.begin(), state->rooms.end(), room) != state->rooms.end()) return std::nullopt;
  if (rooms >= max_rooms) return fmt::format("already in {} rooms", max_rooms);
  return fmt::format("its rooms' names would take {} bytes (limit {})", bytes + room.size(), max_room_bytes);
}

bool worker::leave(websocket_session& s, std::string_view room) {
  if (!rooms_.leave(room, &s)) return false;
  s.change_state([&](connection_state& state) {
    std::erase(state.rooms, room);
    state.room_bytes -= room.size();
  });
  room_count_.store(rooms_.room_count(), std::memory_order_relaxed);
  room_names_stale_ = true;
  return true;
}

std::vector<ms_conn_id> worker::members_of(std::string_view room) {
  std::vector<ms_conn_id> out;
  rooms_.for_each_member(std::array{room}, [&](websocket_session* s) { out.push_back(s->id()); });
  return out;
}


void worker::deliver(const fanout& job) {
  rooms_.for_each_member(job.rooms, [&](websocket_session* s) {
    if (s->id() != job.skip) s->send(*job.frame);
  });
}

void worker::queue_for(worker& target, task fn) {
  if (outboxes_.size() <= target.index_) outboxes_.resize(target.index_ + 1);
  outboxes_[target.index_].target = &target;
  outboxes_[target.index_].tasks.push_back(std::move(fn));
}

void worker::post_queued() {
  for (auto& box : outboxes_) {
    if (box.tasks.empty()) continue;
    net::post(box.target->ioc_, [tasks = std::move(box.tasks)] {
      for (const auto& fn : tasks) fn();
    });
    box.tasks.clear();
  }
}

void worker::close_all(std::uint16_t code, std::string_view reason) {
  sweep_timer_.cancel();
  std::vector<std::shared_ptr<websocket_session>> all;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, s] : sessions_) all.push_back(s);
  }
  for (auto& s : all) s->close(code, reason);
}

}  // namespace microsockets
