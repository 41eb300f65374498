#include "plugin_directory.hpp"

#include "host_api.hpp"
#include "log.hpp"

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
  const int saved = save.save(save.user, [](void* out, ms_str s) { static_cast<std::string*>(out)->assign(s.data, s.size); }, &blob);
  if (!check_plugin_result(saved, from, "on_reload save")) return;
  const auto& restore = *to.regs().state;
  if (check_plugin_result(restore.restore(restore.user, ms_str{blob.data(), blob.size()}), to, "on_reload restore"))
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

plugin_directory::generation plugin_directory::load() {
  // A first load is a reload from nothing.
  auto first = reload(*plugin_table::build({}));
  if (!first.table) first.table = plugin_table::build({});  // an empty directory
  return first;
}

plugin_directory::generation plugin_directory::reload(const plugin_table& current) {
  std::map<std::string, std::shared_ptr<plugin>> old_by_file;
  for (const auto& p : current.plugins()) old_by_file[p->file().filename().string()] = p;

  const auto files = list();
  bool changed = false;
  std::vector<std::shared_ptr<plugin>> next;
  std::map<const plugin*, std::shared_ptr<plugin>> replaces;  // new version -> old
  for (const auto& [name, file] : files) {
    auto old = old_by_file.find(name);
    auto sig = sign(file);
    if (!sig || seen_[name] == *sig) {  // unchanged (or vanished while we looked)
      if (old != old_by_file.end()) next.push_back(old->second);
      continue;
    }
    seen_[name] = *sig;
    changed = true;
    try {
      auto fresh = plugin::load(file, host_);
      if (old != old_by_file.end()) replaces[fresh.get()] = old->second;
      next.push_back(std::move(fresh));
    } catch (const plugin_error& e) {
      log::error("refusing plugin {}: {}{}", name, e.what(),
                 old != old_by_file.end() ? "; the loaded version keeps serving" : "");
      if (old != old_by_file.end()) next.push_back(old->second);
    }
  }
  for (auto it = seen_.begin(); it != seen_.end();)  // forget removed files
    if (!files.contains(it->first)) {
      changed = changed || old_by_file.contains(it->first);
      it = seen_.erase(it);
    } else {
      ++it;
    }
  if (!changed) return {};

  // A new version refused for a conflict gives way to its old version.
  auto table = plugin_table::build(next);
  for (auto& p : next)
    if (!contains(*table, p.get()) && replaces.contains(p.get())) {
      log::error("plugin {}: the loaded version keeps serving", p->label());
      p = replaces[p.get()];
      table = plugin_table::build(next);
    }

  generation out;
  for (const auto& p : table->plugins()) {
    if (contains(current, p.get())) continue;
    if (auto old = replaces.find(p.get()); old != replaces.end()) hand_over_state(*old->second, *p);
    run_lifecycle_hooks(*p, &registrations::startup, "on_startup");
    log::info("{} plugin {}: {}", replaces.contains(p.get()) ? "reloaded" : "loaded", p->label(),
              p->describe());
  }
  for (const auto& p : current.plugins())
    if (!contains(*table, p.get())) {
      out.retired.push_back(p);
      if (!files.contains(p->file().filename().string())) log::info("unloading plugin {}: its file was removed", p->label());
    }
  out.table = std::move(table);
  return out;
}

}  // namespace microsockets
