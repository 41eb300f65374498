#include "worker.hpp"

#include "websocket_session.hpp"

namespace microsockets {
namespace {
thread_local worker* current_worker = nullptr;
// Ready handlers run per turn before output is written; bounds the latency
// one busy turn adds to the writes it batches, and the size the batches grow
// to. Measured on W1: 256 gave 6.9-8.5 M msg/s, 1024 gave 5.8-6.4 M (bigger
// per-connection buffers cost more in copying and page faults than the
// sends they save).
constexpr int max_handlers_per_turn = 256;
}  // namespace

worker::worker(unsigned index, unsigned idle_timeout_seconds)
    : index_(index), ioc_(1), sweep_timer_(ioc_), idle_timeout_(idle_timeout_seconds) {}

bool worker::on_this_thread() const { return current_worker == this; }

worker* worker::current() { return current_worker; }

void worker::run() {
  current_worker = this;
  auto keep_running = net::make_work_guard(ioc_);
  sweep();
  while (!ioc_.stopped()) {
    ioc_.run_one();
    for (int i = 0; i < max_handlers_per_turn && ioc_.poll_one(); ++i) {
    }
    post_forwarded();
    flush_scheduled();
  }
  current_worker = nullptr;
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
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](error_code ec) {
    if (ec) return;
    ++now_;
    sweep();
  });
}

void worker::add(std::shared_ptr<websocket_session> session) {
  std::lock_guard lock(mutex_);
  const auto id = session->id();
  sessions_.emplace(id, std::move(session));
}

void worker::remove(websocket_session& session) {
  std::shared_ptr<websocket_session> keep;  // destroyed after the lock is released
  std::lock_guard lock(mutex_);
  rooms_.leave_all(&session);
  if (auto it = sessions_.find(session.id()); it != sessions_.end()) {
    keep = std::move(it->second);
    sessions_.erase(it);
  }
}

websocket_session* worker::find(ms_conn_id id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

std::shared_ptr<websocket_session> worker::find_shared(ms_conn_id id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

std::size_t worker::connection_count() {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

bool worker::join(websocket_session& s, std::string_view room) {
  std::lock_guard lock(mutex_);
  return rooms_.join(room, &s);
}

bool worker::leave(websocket_session& s, std::string_view room) {
  std::lock_guard lock(mutex_);
  return rooms_.leave(room, &s);
}

std::vector<std::string> worker::rooms_of(websocket_session& s) {
  std::lock_guard lock(mutex_);
  return rooms_.rooms_of(&s);
}

std::size_t worker::room_count() {
  std::lock_guard lock(mutex_);
  return rooms_.room_count();
}

void worker::add_room_names(std::unordered_set<std::string>& names) {
  std::lock_guard lock(mutex_);
  rooms_.for_each_room([&](const std::string& name) { names.insert(name); });
}

void worker::deliver(const fanout& job) {
  rooms_.for_each_member(job.rooms, [&](websocket_session* s) {
    if (s->id() != job.skip) s->send(*job.frame);
  });
}

void worker::forward(worker& target, std::shared_ptr<const fanout> job) {
  if (outboxes_.size() <= target.index_) outboxes_.resize(target.index_ + 1);
  outboxes_[target.index_].target = &target;
  outboxes_[target.index_].jobs.push_back(std::move(job));
}

void worker::post_forwarded() {
  for (auto& box : outboxes_) {
    if (box.jobs.empty()) continue;
    net::post(box.target->ioc_, [target = box.target, jobs = std::move(box.jobs)] {
      for (const auto& job : jobs) target->deliver(*job);
    });
    box.jobs.clear();
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
