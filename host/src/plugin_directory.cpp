#include "plugin_directory.hpp"

#include "host_api.hpp"
#include "log.hpp"
#include "stats.hpp"

#include <algorithm>

#include <sys/stat.h>

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

std::optional<plugin_directory::signature> plugin_directory::sign(const fs::path& file) {
  struct ::stat st {};
  std::error_code ec;
  auto modified = fs::last_write_time(file, ec);
  if (ec || ::stat(file.c_str(), &st) != 0) return std::nullopt;
  return signature{modified, std::uintmax_t(st.st_size), std::uintmax_t(st.st_ino)};
}

std::map<std::string, fs::path> plugin_directory::list() const {
  std::map<std::string, fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec))
    if (entry.path().extension() == ".so" && entry.is_regular_file(ec)) files.emplace(entry.path().filename(), entry.path());
  if (ec) log::error("cannot read plugins directory '{}': {}", dir_.string(), ec.message());
  return files;
}

std::shared_ptr<const plugin_table> plugin_directory::load() {
  // A first load is a reload from nothing.
  auto first = reload(*plugin_table::build({}));
  return first ? first : plugin_table::build({});  // an empty directory
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
      log::error("refusing plugin {}: {}{}", p->label(), reason, kept ? "; the loaded version keeps serving" : "");
      counters.plugin_refused(p->name());
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

std::shared_ptr<const plugin_table> plugin_directory::reload(const plugin_table& current) {
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
    if (!sig || seen_[name] == *sig) {  // unchanged (or vanished while we looked)
      if (loaded) keep_old();
      continue;
    }
    seen_[name] = *sig;
    changed = true;
    try {
      auto fresh = plugin::load(file, host_);
      if (loaded) replaces[fresh.get()] = old->second;
      next.push_back(std::move(fresh));
    } catch (const plugin_error& e) {
      log::error("refusing plugin {}: {}{}", name, e.what(), loaded ? "; the loaded version keeps serving" : "");
      counters.plugin_refused(loaded ? old->second->name() : name);
      if (loaded) keep_old();
    }
  }
  for (auto it = seen_.begin(); it != seen_.end();)  // forget removed files
    if (!files.contains(it->first)) {
      changed = changed || old_by_file.contains(it->first);
      it = seen_.erase(it);
    } else {
      ++it;
    }
  if (!changed) return nullptr;

  auto table = settle(std::move(next), std::move(serving), replaces);
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
