#include "core/rooms.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace microsockets;

namespace {
struct member {
  int id;
};

std::vector<int> members_of(const room_map<member>& rooms, std::vector<std::string> names) {
  std::vector<int> out;
  rooms.for_each_member(names, [&](member* m) { out.push_back(m->id); });
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST_CASE("a room is created on first join and vanishes when its last member leaves") {
  room_map<member> rooms;
  member a{1}, b{2};
  CHECK(rooms.room_count() == 0);
  CHECK(rooms.join("lobby", &a));
  CHECK(rooms.join("lobby", &b));
  CHECK(rooms.size("lobby") == 2);
  CHECK(rooms.leave("lobby", &a));
  CHECK(rooms.size("lobby") == 1);
  CHECK(rooms.leave("lobby", &b));
  CHECK(rooms.room_count() == 0);
}

TEST_CASE("joining twice or leaving a room one is not in changes nothing") {
  room_map<member> rooms;
  member a{1};
  CHECK(rooms.join("r", &a));
  CHECK_FALSE(rooms.join("r", &a));
  CHECK(rooms.size("r") == 1);
  CHECK_FALSE(rooms.leave("other", &a));
  CHECK(rooms.size("r") == 1);
}

TEST_CASE("a member of several listed rooms is visited once") {
  room_map<member> rooms;
  member a{1}, b{2}, c{3};
  rooms.join("x", &a);
  rooms.join("y", &a);
  rooms.join("y", &b);
  rooms.join("z", &c);
  CHECK(members_of(rooms, {"x", "y"}) == std::vector<int>{1, 2});
  CHECK(members_of(rooms, {"x", "y", "x"}) == std::vector<int>{1, 2});
}

TEST_CASE("a member of another room is not visited") {
  room_map<member> rooms;
  member a{1}, b{2};
  rooms.join("x", &a);
  rooms.join("z", &b);
  CHECK(members_of(rooms, {"x"}) == std::vector<int>{1});
  CHECK(members_of(rooms, {"nobody"}).empty());
  CHECK(members_of(rooms, {}).empty());
}

TEST_CASE("a disconnect removes the member from every room and drops empty rooms") {
  room_map<member> rooms;
  member a{1}, b{2};
  rooms.join("x", &a);
  rooms.join("y", &a);
  rooms.join("y", &b);
  rooms.leave_all(&a, std::vector<std::string>{"x", "y"});
  CHECK(rooms.size("x") == 0);
  CHECK(rooms.room_count() == 1);
  CHECK(members_of(rooms, {"x", "y"}) == std::vector<int>{2});
}
