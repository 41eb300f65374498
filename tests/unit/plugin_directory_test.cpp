// plugin_directory's settling, with real plugins built by the tree
// (tests/plugins/claims.cpp): a claims "a", its second version also claims
// b's "x"; b claims "x", its second version also "y".
#include "plugins/host_services.hpp"
#include "plugins/plugin_directory.hpp"
#include <unistd.h>

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

using namespace microsockets;
namespace fs = std::filesystem;

namespace {

// Nothing here calls the host: the plugins only register.
class no_host final : public host_services {
 public:
  ms_status emit(ms_conn_id, std::string_view, std::string_view, bool) override { return MS_GONE; }
  ms_status join(ms_conn_id, std::string_view) override { return MS_GONE; }
  ms_status leave(ms_conn_id, std::string_view) override { return MS_GONE; }
  ms_status rooms(ms_conn_id, std::vector<std::string>&) override { return MS_GONE; }
  ms_status broadcast(ms_conn_id, std::string_view, std::string_view, bool, std::vector<std::string>, bool) override {
    return MS_OK;
  }
  ms_status close(ms_conn_id, std::uint16_t, std::string_view) override { return MS_GONE; }
  ms_status set_attribute(ms_conn_id, std::string_view, std::string_view) override { return MS_GONE; }
  ms_status get_attribute(ms_conn_id, std::string_view, std::string&) override { return MS_GONE; }
  ms_status request(ms_conn_id, ms_request_field, std::string_view, std::string&) override { return MS_GONE; }
  ms_status room_members(const plugin*, ms_conn_id, std::string_view, members_answer) override { return MS_GONE; }
  std::optional<std::string> setting(std::string_view, std::string_view) override { return std::nullopt; }
};

// A plugins directory of its own, filled with the tree's claims_* builds.
class directory {
 public:
  directory() : path_(fs::temp_directory_path() / ("microsockets-unit-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~directory() { fs::remove_all(path_); }
  // Puts build `tag` (a1, a2, b1, b2) at `name`, as a new file (a new inode, as a deploy's rename makes).
  void put(const std::string& name, const std::string& tag) {
    const char* built = std::getenv("MICROSOCKETS_TEST_PLUGINS");
    REQUIRE_MESSAGE(built, "MICROSOCKETS_TEST_PLUGINS names the folder of the test plugins");
    fs::remove(path_ / name);
    fs::copy_file(fs::path(built) / ("claims_" + tag + ".so"), path_ / name);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Which plugin's file answers `event` in `table`, or "" if none does.
std::string owner(const plugin_table& table, std::string_view event) {
  const auto* h = table.find(event);
  return h ? h->owner->file().filename().string() : "";
}

const plugin* handler_owner(const plugin_table& table, std::string_view event) { return table.find(event)->owner; }

// A host that has loaded a1 as 10-a.so and b1 as 20-b.so.
struct a1_and_b1 {
  a1_and_b1() {
    dir.put("10-a.so", "a1");
    dir.put("20-b.so", "b1");
    table = plugins.load(true);
  }
  no_host host;
  directory dir;
  plugin_directory plugins{dir.path(), host};
  std::shared_ptr<const plugin_table> table;
};

}  // namespace

TEST_CASE("at load, of two files that claim one event the first by name wins; strict refuses the start") {
  no_host host;
  directory dir;
  dir.put("10-a.so", "a2");
  dir.put("20-b.so", "b1");
  plugin_directory plugins(dir.path(), host);
  auto table = plugins.load(false);
  CHECK(owner(*table, "a") == "10-a.so");
  CHECK(owner(*table, "x") == "10-a.so");
  CHECK(table->plugins().size() == 1);

  plugin_directory strict(dir.path(), host);
  CHECK_THROWS_WITH_AS(strict.load(true), doctest::Contains("20-b.so"), plugin_error);
}

TEST_CASE_FIXTURE(a1_and_b1, "a new version that claims an event of a plugin left in place is refused, and its old version serves on") {
  const plugin* a1 = handler_owner(*table, "a");
  const plugin* b1 = handler_owner(*table, "x");

  // a's new version wants b's "x": b serves it and is unchanged, so b keeps it, whatever the file names.
  dir.put("10-a.so", "a2");
  auto next = plugins.reload(*table);
  const auto& now = next ? *next : *table;
  CHECK(handler_owner(now, "a") == a1);
  CHECK(handler_owner(now, "x") == b1);

  // The refused file is not tried again until it changes.
  CHECK(plugins.reload(now) == nullptr);
}

TEST_CASE_FIXTURE(a1_and_b1, "when both files change, file names decide between the new versions; nothing is left unserved") {
  const plugin* b1 = handler_owner(*table, "x");

  // a2 (a, x) and b2 (x, y) both claim x: a2 comes first by name. b2 is
  // refused and gives way to b1, which serves x, so a2 must give way too.
  dir.put("10-a.so", "a2");
  dir.put("20-b.so", "b2");
  auto next = plugins.reload(*table);
  const auto& now = next ? *next : *table;
  CHECK(owner(now, "a") == "10-a.so");
  CHECK(owner(now, "x") == "20-b.so");
  CHECK(handler_owner(now, "x") == b1);
  CHECK(now.find("y") == nullptr);
}

TEST_CASE("a removed file's plugin is dropped; a new one is loaded") {
  no_host host;
  directory dir;
  dir.put("10-a.so", "a1");
  plugin_directory plugins(dir.path(), host);
  auto table = plugins.load(true);
  fs::remove(dir.path() / "10-a.so");
  dir.put("20-b.so", "b2");
  auto next = plugins.reload(*table);
  REQUIRE(next);
  CHECK(next->find("a") == nullptr);
  CHECK(owner(*next, "y") == "20-b.so");
}
