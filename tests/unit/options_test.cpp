#include "ops/options.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

using namespace microsockets;
namespace fs = std::filesystem;

namespace {

parsed_options parse(std::vector<std::string> args) {
  args.insert(args.begin(), "microsockets");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return parse_options(int(args.size()), argv.data());
}

// A --config file for one test.
struct config_file {
  fs::path path = fs::temp_directory_path() / ("microsockets-options-" + std::to_string(::getpid()) + ".conf");
  explicit config_file(const std::string& text) { std::ofstream(path) << text; }
  ~config_file() { fs::remove(path); }
};

// An environment variable for one test.
struct variable {
  const char* name;
  variable(const char* n, const char* value) : name(n) { ::setenv(n, value, 1); }
  ~variable() { ::unsetenv(name); }
};

}  // namespace

TEST_CASE("a flag wins over the environment, which wins over the --config file") {
  config_file file("# a deploy's defaults\nport = 9001\nthreads = 3\nmax-output = 2000000\n");
  variable port("MICROSOCKETS_HOST_PORT", "9002");
  variable output("MICROSOCKETS_HOST_MAX_OUTPUT", "3000000");

  auto all = parse({"--config", file.path.string(), "--port", "9003"});
  REQUIRE(all.run);
  CHECK(all.run->port == 9003);                 // flag
  CHECK(all.run->max_output_bytes == 3000000);  // environment over file
  CHECK(all.run->threads == 3);                 // file, where nothing else says

  auto no_flag = parse({"--config", file.path.string()});
  REQUIRE(no_flag.run);
  CHECK(no_flag.run->port == 9002);
}

TEST_CASE("what nothing sets keeps its default") {
  auto none = parse({});
  REQUIRE(none.run);
  CHECK(none.run->port == 8000);
  CHECK(none.run->listen_address == "127.0.0.1");
  CHECK(none.run->threads == 1);
}

TEST_CASE("a bad value says where it came from, in one line, with exit code 2") {
  {
    variable threads("MICROSOCKETS_HOST_THREADS", "many");
    auto bad = parse({});
    CHECK_FALSE(bad.run);
    CHECK(bad.exit_code == 2);
    CHECK(bad.message.find("environment") != std::string::npos);
    CHECK(bad.message.find('\n') == std::string::npos);
  }
  config_file file("port = nine\n");
  auto bad = parse({"--config", file.path.string()});
  CHECK_FALSE(bad.run);
  CHECK(bad.message.find(file.path.string()) != std::string::npos);
  // The password never comes from the command line, which every user sees in ps.
  auto password = parse({"--redis-password", "secret"});
  CHECK_FALSE(password.run);
  CHECK(password.message.find("MICROSOCKETS_HOST_REDIS_PASSWORD") != std::string::npos);
}
