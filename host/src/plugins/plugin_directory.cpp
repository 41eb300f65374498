#include "plugins/plugin_directory.hpp"

#include "plugins/plugin_result.hpp"
#include "base/log.hpp"
#include "base/stats.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

namespace microsockets {
namespace fs = std::filesystem;
namespace {

// Hands the old version's on_reload blob to the new version.
void hand_over_state(plugin& from, plugin& to) {
  if (!from.regs().state || !to.regs().state) return;
  std::string blob;
  const auto& save = *from.regs().state;
  int saved;
  {
    plugin_call running(from, "on_reload save");
    saved = save.save(save.user, [](void* out, ms_str s) { static_cast<std::string*>(out)->assign(s.data, s.size); }, &blob);
  }
  if (!check_plugin_result(saved, from, "on_reload save")) return;
  const auto& restore = *to.regs().state;
  int restored;
  {
    plugin_call running(to, "on_reload restore");
    restored = restore.restore(restore.user, ms_str{blob.data(), blob.size()});
  }
  if (check_plugin_result(restored, to, "on_reload restore"))
    log::info("plugin {}: handed {} bytes of state to the new version", to.label(), blob.size());
}

bool contains(const plugin_table& table, const plugin* p) {
  const auto& all = table.plugins();
  return std::any_of(all.begin(), all.end(), [p](const auto& q) { return q.get() == p; });
}

}  // namespace

plugin_directory::plugin_directory(fs::path dir, host_services& host) : dir_(std::move(dir)), host_(host) {}

std::variant<plugin_directory::signature, std::string> plugin_directory::sign(const fs::path& file) {
  struct ::stat st {};
  if (::stat(file.c_str(), &st) != 0)
    return std::string(errno == ENOENT && fs::is_symlink(fs::symlink_status(file)) ? "a link to nothing"
                                                                                  : std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return std::string("not a regular file");
  if (::access(file.c_str(), R_OK) != 0) return fmt::format("cannot be read: {}", std::strerror(errno));
  std::error_code ec;
  auto modified = fs::last_write_time(file, ec);
  if (ec) return ec.message();
  return signature{modified, std::uintmax_t(st.st_size), std::uintmax_t(st.st_ino)};
}

std::map<std::string, fs::path> plugin_directory::list() const {
  std::map<std::string, fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec))
    if (entry.path().extension() == ".so" && !entry.is_directory(ec)) files.emplace(entry.path().filename(), entry.path());
  if (ec) log::error("cannot read plugins directory '{}': {}", dir_.string(), ec.message());
  return files;
}

std::shared_ptr<const plugin_table> plugin_directory::load(bool strict) {
  // A first load is a reload from nothing.
  auto first = reload(*plugin_table::build({}), strict);
  return first ? first : plugin_table::build({});  // an empty directory
}

void plugin_directory::refused(std::string_view label, std::string_view plugin, std::string_view why, bool loaded) {
  log::error("refusing plugin {}: {}{}", label, why, loaded ? "; the loaded version keeps serving" : "");
  counters.plugin_refused(plugin);
  failures_.push_back(fmt::format("{}: {}", label, why));
}

std::shared_ptr<const plugin_table> plugin_directory::settle(
    std::vector<std::shared_ptr<plugin>> next, std::set<const plugin*> serving,
    const std::map<const plugin*, std::shared_ptr<plugin>>& replaces) {
  // Each round takes refused versions out, so it ends.
  for (;;) {
    std::vector<plugin_table::refusal> refused;
    auto table = plugin_table::build(next, &refused, serving);
    if (refused.empty()) return table;
    for (const auto& [p, reason] : refused) {
      auto old = replaces.find(p.get());
      const bool kept = old != replaces.end();
      this->refused(p->label(), p->name(), reason, kept);
      auto at = std::find(next.begin(), next.end(), p);
      if (!kept) {
        next.erase(at);
        continue;
      }
      *at = old->second;
      serving.insert(old->second.get());
    }
  }
}

std::shared_ptr<const plugin_table> plugin_directory::reload(const plugin_table& current, bool strict) {
  failures_.clear();
  std::map<std::string, std::shared_ptr<plugin>> old_by_file;
  for (const auto& p : current.plugins()) old_by_file[p->file().filename().string()] = p;

  const auto files = list();
  bool changed = false;
  std::vector<std::shared_ptr<plugin>> next;     // in file-name order
  std::set<const plugin*> serving;               // what this reload leaves in place
  std::map<const plugin*, std::shared_ptr<plugin>> replaces;  // new version -> old
  for (const auto& [name, file] : files) {
    auto old = old_by_file.find(name);
    const bool loaded = old != old_by_file.end();
    auto keep_old = [&] {
      next.push_back(old->second);
      serving.insert(old->second.get());
    };
    auto sig = sign(file);
    if (auto* why = std::get_if<std::string>(&sig)) {
      // Broken in place (a link whose target went, a file made unreadable):
      // what serves keeps serving, and it is said every time it is tried.
      seen_.erase(name);
      refused(name, loaded ? old->second->name() : name, *why, loaded);
      if (loaded) keep_old();
      continue;
    }
    if (seen_[name] == std::get<signature>(sig)) {  // unchanged
      if (loaded) keep_old();
      continue;
    }
    seen_[name] = std::get<signature>(sig);
    changed = true;
    try {
      auto fresh = plugin::load(file, host_);
      if (loaded) replaces[fresh.get()] = old->second;
      next.push_back(std::move(fresh));
    } catch (const plugin_error& e) {
      refused(name, loaded ? old->second->name() : name, e.what(), loaded);
      if (loaded) keep_old();
    }
  }
  std::erase_if(seen_, [&](const auto& entry) { return !files.contains(entry.first); });  // forget removed files
  for (const auto& [name, p] : old_by_file) changed = changed || !files.contains(name);
  if (!changed) return nullptr;

  auto table = settle(std::move(next), std::move(serving), replaces);
  if (strict && !failures_.empty())  // before any on_startup: nothing was started
    throw plugin_error(fmt::format("{} (start with --allow-missing-plugins to serve without {})",
                                   fmt::join(failures_, "; "), failures_.size() == 1 ? "it" : "them"));
  for (const auto& p : table->plugins()) {
    if (contains(current, p.get())) continue;
    if (auto old = replaces.find(p.get()); old != replaces.end()) hand_over_state(*old->second, *p);
    p->start();
    counters.plugin_loaded(p->name(), replaces.contains(p.get()));
    log::info("{} plugin {}: {}", replaces.contains(p.get()) ? "reloaded" : "loaded", p->label(), p->describe());
  }
  for (const auto& p : current.plugins())
    if (!files.contains(p->file().filename().string()))
      log::info("unloading plugin {}: its file was removed", p->label());
  return table;
}

}  // namespace microsockets
