// The backplane of a host alone: no connection is another host's, nothing
// is sent anywhere, and a room's members are found on this host's workers.
#pragma once

#include "core/backplane.hpp"

#include <memory>
#include <vector>

namespace microsockets {

class local_backplane final : public backplane {
 public:
  explicit local_backplane(const std::vector<std::unique_ptr<worker>>& workers) : workers_(workers) {}

  bool is_remote(ms_conn_id) const override { return false; }
  void joined(ms_conn_id, std::string_view) override {}
  void left(ms_conn_id, std::string_view) override {}
  void gone(ms_conn_id) override {}
  void published(std::shared_ptr<const fanout>, std::string_view, std::string_view, bool) override {}
  void emit(ms_conn_id, std::string_view, std::string_view, bool) override {}
  void close(ms_conn_id, std::uint16_t, std::string_view) override {}
  void join(ms_conn_id, std::string_view) override {}
  void leave(ms_conn_id, std::string_view) override {}
  // Each worker lists its own members on its own thread (through its door);
  // the last to do so answers.
  void members(std::string room, members_answer answer) override;

 private:
  const std::vector<std::unique_ptr<worker>>& workers_;
};

}  // namespace microsockets
