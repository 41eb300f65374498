#include "plugin.hpp"

#include "host_api.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <system_error>

#include <unistd.h>

namespace microsockets {
namespace fs = std::filesystem;

namespace {

// dlopen caches by path and a compiler may rewrite the file while it is
// mapped, so every load reads its own copy; the copy is unlinked once mapped.
class private_copy {
 public:
  explicit private_copy(const fs::path& file) {
    static std::atomic<unsigned> sequence{0};
    fs::path dir = fs::temp_directory_path() / fmt::format("microsockets-{}", ::getpid());
    fs::create_directories(dir);
    path_ = dir / fmt::format("{}-{}", sequence++, file.filename().string());
    fs::copy_file(file, path_, fs::copy_options::overwrite_existing);
  }
  ~private_copy() {
    std::error_code ec;
    fs::remove(path_, ec);
    fs::remove(path_.parent_path(), ec);  // only succeeds once empty
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

plugin::plugin(host_services& host) : host_(&host) {}

plugin::plugin(std::string name, registrations regs, host_services* host)
    : name_(std::move(name)), regs_(std::move(regs)), host_(host) {}

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
  try {
    private_copy copy(file);
    p->library_.load(copy.path(), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw plugin_error(fmt::format("not a loadable shared library ({})", e.what()));
  }
  if (!p->library_.has(MS_SYMBOL_ABI_VERSION))
    throw plugin_error("no " MS_SYMBOL_ABI_VERSION " symbol: not a microsockets plugin");
  const auto version = p->library_.get<const std::uint32_t>(MS_SYMBOL_ABI_VERSION);
  if (MS_ABI_MAJOR_OF(version) != MS_ABI_MAJOR)
    throw plugin_error(fmt::format("built for plugin ABI {}.{}, this host speaks {}.{}",
                                   version >> 16, version & 0xffff, MS_ABI_MAJOR, MS_ABI_MINOR));
  if (!p->library_.has(MS_SYMBOL_INIT)) throw plugin_error("no " MS_SYMBOL_INIT " symbol");

  auto& init = p->library_.get<int(const ms_host_api*, ms_host*)>(MS_SYMBOL_INIT);
  p->registering_ = true;
  const int rc = init(&host_api_table(), p->handle());
  p->registering_ = false;
  if (rc != MS_OK) throw plugin_error(fmt::format("init failed: {}", take_reported_error()));
  return p;
}

}  // namespace microsockets
