// One loaded plugin library: its ABI check, its init and what it registered.
//
// Ownership: the plugin_table generations that use a plugin hold it by
// shared_ptr; the library is unmapped when the last one lets go, so nothing in
// the host may keep a pointer into it (callback, user data, string) longer
// than it keeps the plugin. A plugin that was started is stopped (on_shutdown)
// by then at the latest: a retired version's on_shutdown runs on the thread
// whose event was the last to use it, after that handler has returned.
#pragma once

#include "plugins/host_services.hpp"
#include "plugins/plugin_activity.hpp"
#include "plugins/plugin_copy.hpp"

#include <microsockets/abi.h>

#include <boost/dll/shared_library.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace microsockets {

template <class Fn>
struct callback {
  Fn fn;
  void* user;
};

struct state_hooks {
  ms_on_save_state save;
  ms_on_restore_state restore;
  void* user;
};

struct registrations {
  std::vector<std::pair<std::string, callback<ms_on_event>>> events;
  std::optional<callback<ms_on_event>> fallback;
  std::vector<callback<ms_on_middleware>> middleware;
  std::vector<callback<ms_on_lifecycle>> startup;
  std::vector<callback<ms_on_lifecycle>> shutdown;
  std::vector<callback<ms_on_connect>> connect;
  std::vector<callback<ms_on_disconnect>> disconnect;
  std::vector<callback<ms_on_error>> error;
  std::optional<state_hooks> state;
  // The request headers it reads after the upgrade, in lower case; null
  // when it has not said (ABI 1.2), and may then read any.
  std::optional<std::vector<std::string>> kept_headers;
};

// Why a library was refused, in words for the log.
struct plugin_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class plugin;

}  // namespace microsockets

// The ABI's opaque per-plugin handle.
struct ms_host {
  microsockets::plugin* plugin;
};

namespace microsockets {

class plugin {
 public:
  // Loads `file` from a private copy and runs its init. Throws plugin_error.
  static std::shared_ptr<plugin> load(const std::filesystem::path& file, host_services& host);

  // A plugin made of plain registrations, without a library (tests).
  plugin(std::string name, registrations regs, host_services* host = nullptr);

  // Stops it if it was started, then unloads the library.
  ~plugin();
  plugin(const plugin&) = delete;
  plugin& operator=(const plugin&) = delete;

  const std::string& name() const { return name_; }
  // The file it came from ("" for a plugin without a library).
  const std::filesystem::path& file() const { return file_; }
  // "name (file)" for log lines.
  std::string label() const;
  // Its name, file and the file's time, for the watchdog and the crash
  // handler: lives as long as the process.
  const plugin_identity* identity() const { return identity_; }
  // "events [a, b], hooks [on_connect]" for log lines.
  std::string describe() const;
  const registrations& regs() const { return regs_; }
  ms_host* handle() { return &handle_; }
  host_services* host() const { return host_; }

  // Runs its on_startup hooks (once it is part of a table that goes live).
  void start();
  // Runs its on_shutdown hooks, once, if it was started.
  void stop();

  // Registration is only open while init runs.
  bool registering() const { return registering_; }
  void set_name(std::string name) { name_ = std::move(name); }
  registrations& mutable_regs() { return regs_; }

 private:
  explicit plugin(host_services& host);
  void identify();

  std::optional<plugin_copy> copy_;     // outlives the library: see plugin_copy
  boost::dll::shared_library library_;  // unloaded after the members below
  std::string name_;
  std::filesystem::path file_;
  registrations regs_;
  host_services* host_;
  ms_host handle_{this};
  const plugin_identity* identity_ = nullptr;
  std::string modified_;  // the file's time at load, UTC
  bool registering_ = false;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace microsockets
