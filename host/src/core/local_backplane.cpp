#include "core/local_backplane.hpp"

#include <mutex>

namespace microsockets {

void local_backplane::members(std::string room, members_answer answer) {
  struct gathering {
    std::mutex mutex;
    std::vector<ms_conn_id> ids;
    std::size_t workers_left;
    members_answer answer;
  };
  auto all = std::make_shared<gathering>();
  all->workers_left = workers_.size();
  all->answer = std::move(answer);
  for (auto& w : workers_)
    w->execute([w = w.get(), all, room] {
      auto some = w->members_of(room);
      std::lock_guard lock(all->mutex);
      all->ids.insert(all->ids.end(), some.begin(), some.end());
      if (--all->workers_left == 0) all->answer(MS_OK, std::move(all->ids));
    });
}

}  // namespace microsockets
