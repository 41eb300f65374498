// microsockets: parse the command line, run the server, map failures to exit codes.
#include "plugins/crash_report.hpp"
#include "ops/options.hpp"
#include "ops/server.hpp"
#include "ops/signal_reader.hpp"
#include "ops/systemd_notify.hpp"

#include <fmt/format.h>

#include <cstdio>

int main(int argc, char** argv) {
  auto parsed = microsockets::parse_options(argc, argv);
  if (!parsed.run) {
    fmt::print(parsed.exit_code ? stderr : stdout, "{}\n", parsed.message);
    return parsed.exit_code;
  }
  // Before any thread starts, plugins' threads included: they inherit it.
  microsockets::signal_reader::block_host_signals();
  microsockets::crash_report::install();
  try {
    microsockets::server server(std::move(*parsed.run));
    server.start();
    microsockets::systemd_notify::ready();
    server.run();
    return 0;
  } catch (const microsockets::startup_error& e) {
    fmt::print(stderr, "microsockets: {}\n", e.what());
  } catch (const std::exception& e) {
    fmt::print(stderr, "microsockets: fatal: {}\n", e.what());
  }
  return 1;
}
