// What the generator reports beside rates: latency percentiles, CPU use of
// itself and of the server, the server's resident memory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace loadgen {

inline double percentile_ms(std::vector<std::uint32_t>& us, double p) {
  if (us.empty()) return 0;
  auto at = us.begin() + std::ptrdiff_t(double(us.size() - 1) * p);
  std::nth_element(us.begin(), at, us.end());
  return *at / 1000.0;
}

// CPU seconds used so far by this process.
inline double own_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds used so far by process `pid` (0: none known).
inline double process_cpu_seconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // fields 3..13
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / double(::sysconf(_SC_CLK_TCK));
}

inline long resident_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  return 0;
}

// CPU use of both sides over a measured window, in percent of one core.
class cpu_window {
 public:
  explicit cpu_window(int server_pid) : pid_(server_pid) { restart(); }
  void restart() {
    own_ = own_cpu_seconds();
    server_ = process_cpu_seconds(pid_);
  }
  // CPU seconds since the start of the window.
  double own_seconds() const { return own_cpu_seconds() - own_; }
  double server_seconds() const { return process_cpu_seconds(pid_) - server_; }
  double own_percent(double seconds) const { return 100 * own_seconds() / seconds; }
  double server_percent(double seconds) const { return 100 * server_seconds() / seconds; }

 private:
  int pid_;
  double own_ = 0, server_ = 0;
};

}  // namespace loadgen
