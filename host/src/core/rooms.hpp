// Room membership: rooms are created on first join and vanish when empty.
// Each member keeps its own list of rooms (a session publishes it for other
// threads to read), so the map holds only the members of each room.
//
// Not thread-safe: each worker thread owns one map for its own connections,
// so a broadcast walks every worker's map on that worker's thread.
#pragma once

#include "base/string_hash.hpp"

#include <algorithm>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace microsockets {

template <class Member>
class room_map {
 public:
  // False if `m` was already a member.
  bool join(std::string_view room, Member* m) {
    auto& members = members_[std::string(room)];
    if (std::find(members.begin(), members.end(), m) != members.end()) return false;
    members.push_back(m);
    return true;
  }

  // False if `m` was not a member.
  bool leave(std::string_view room, Member* m) {
    auto it = members_.find(room);
    if (it == members_.end() || !erase_one(it->second, m)) return false;
    if (it->second.empty()) members_.erase(it);
    return true;
  }

  // Removes `m` from each of `rooms`, the rooms it is in (a disconnect).
  template <class Rooms>
  void leave_all(Member* m, const Rooms& rooms) {
    for (const auto& room : rooms) leave(room, m);
  }

  std::size_t size(std::string_view room) const {
    auto it = members_.find(room);
    return it == members_.end() ? 0 : it->second.size();
  }
  std::size_t room_count() const { return members_.size(); }
  template <class Fn>
  void for_each_room(Fn&& fn) const {
    for (const auto& [name, members] : members_) fn(name);
  }

  // Calls fn(Member*) once for each member of any of `rooms`.
  template <class Rooms, class Fn>
  void for_each_member(const Rooms& rooms, Fn&& fn) const {
    if (std::size(rooms) == 1) {  // the common case needs no de-duplication
      if (auto it = members_.find(std::string_view(*std::begin(rooms))); it != members_.end())
        for (Member* m : it->second) fn(m);
      return;
    }
    std::vector<Member*> all;
    for (const auto& room : rooms)
      if (auto it = members_.find(std::string_view(room)); it != members_.end())
        all.insert(all.end(), it->second.begin(), it->second.end());
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    for (Member* m : all) fn(m);
  }

 private:
  template <class V, class T>
  static bool erase_one(V& v, const T& x) {
    auto it = std::find(v.begin(), v.end(), x);
    if (it == v.end()) return false;
    *it = std::move(v.back());  // order of members does not matter
    v.pop_back();
    return true;
  }

  std::unordered_map<std::string, std::vector<Member*>, string_hash, std::equal_to<>> members_;
};

}  // namespace microsockets
