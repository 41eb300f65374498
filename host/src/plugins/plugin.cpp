#include "plugins/plugin.hpp"

#include "plugins/host_api.hpp"
#include "plugins/plugin_result.hpp"
#include "base/log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <dlfcn.h>

namespace microsockets {
namespace fs = std::filesystem;

plugin::plugin(host_services& host) : host_(&host) {}

plugin::plugin(std::string name, registrations regs, host_services* host)
    : name_(std::move(name)), regs_(std::move(regs)), host_(host) {
  identify();
}

void plugin::identify() {
  identity_ = plugin_identity::of(file_.empty() ? fmt::format("'{}'", name_)
                                                : fmt::format("'{}' ({}, modified {})", name_, file_.string(), modified_));
}

plugin::~plugin() {
  stop();
  if (!library_.is_loaded()) return;
  const fs::path path = copy_->path();
  library_.unload();
  // Still there after dlclose: something pins it, and dlopen would hand this
  // library out again for its path, so that path stays reserved for good.
  if (void* pinned = ::dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD)) {
    ::dlclose(pinned);
    copy_->keep_forever();
    log::warn("plugin {} stays mapped after unloading: a STB_GNU_UNIQUE symbol (build with -fno-gnu-unique) "
              "or a thread_local with a destructor pins it",
              label());
  }
}

void plugin::start() {
  started_ = true;
  run_lifecycle_hooks(*this, &registrations::startup, "on_startup");
}

void plugin::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  run_lifecycle_hooks(*this, &registrations::shutdown, "on_shutdown");
}

std::string plugin::label() const {
  if (file_.empty()) return fmt::format("'{}'", name_);
  return fmt::format("'{}' ({})", name_, file_.filename().string());
}

std::string plugin::describe() const {
  const registrations& r = regs_;
  std::vector<std::string_view> events;
  for (const auto& e : r.events) events.push_back(e.first);
  std::vector<std::string_view> hooks;
  if (r.fallback) hooks.push_back("fallback");
  if (!r.middleware.empty()) hooks.push_back("before_on");
  if (!r.startup.empty()) hooks.push_back("on_startup");
  if (!r.shutdown.empty()) hooks.push_back("on_shutdown");
  if (!r.connect.empty()) hooks.push_back("on_connect");
  if (!r.disconnect.empty()) hooks.push_back("on_disconnect");
  if (!r.error.empty()) hooks.push_back("on_error");
  if (r.state) hooks.push_back("on_reload");
  return fmt::format("events [{}], hooks [{}]", fmt::join(events, ", "), fmt::join(hooks, ", "));
}

std::shared_ptr<plugin> plugin::load(const fs::path& file, host_services& host) {
  std::shared_ptr<plugin> p(new plugin(host));
  p->file_ = file;
  p->name_ = file.stem().string();
  std::error_code ec;
  const auto modified = fs::last_write_time(file, ec);
  if (!ec)
    p->modified_ = fmt::format("{:%FT%TZ}", std::chrono::floor<std::chrono::seconds>(
                                                fs::file_time_type::clock::to_sys(modified)));
  p->identify();
  auto& copy = p->copy_.emplace(file);
  try {
    p->library_.load(copy.path(), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    copy.loaded();
    throw plugin_error(fmt::format("not a loadable shared library ({}){}", e.what(), copy.load_hint()));
  }
  copy.loaded();
  if (!p->library_.has(MS_SYMBOL_ABI_VERSION))
    throw plugin_error("no " MS_SYMBOL_ABI_VERSION " symbol: not a microsockets plugin");
  const auto version = p->library_.get<const std::uint32_t>(MS_SYMBOL_ABI_VERSION);
  if (MS_ABI_MAJOR_OF(version) != MS_ABI_MAJOR)
    throw plugin_error(fmt::format("built for plugin ABI {}.{}, this host speaks {}.{}",
                                   version >> 16, version & 0xffff, MS_ABI_MAJOR, MS_ABI_MINOR));
  if (!p->library_.has(MS_SYMBOL_INIT)) throw plugin_error("no " MS_SYMBOL_INIT " symbol");

  auto& init = p->library_.get<int(const ms_host_api*, ms_host*)>(MS_SYMBOL_INIT);
  p->registering_ = true;
  int rc;
  {
    plugin_call running(*p, "init");
    rc = init(&host_api_table(), p->handle());
  }
  p->registering_ = false;
  if (p->name_ != file.stem().string()) p->identify();
  if (rc != MS_OK) throw plugin_error(fmt::format("init failed: {}", take_reported_error()));
  return p;
}

}  // namespace microsockets
