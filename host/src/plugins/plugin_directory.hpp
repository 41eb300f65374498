// The plugins directory: which file each loaded plugin came from, and turning
// the directory's current contents into a new plugin_table (load and reload).
//
// Not thread-safe: the server calls it from one thread (worker 0).
#pragma once

#include "plugins/plugin_table.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace microsockets {

class plugin_directory {
 public:
  plugin_directory(std::filesystem::path dir, host_services& host);

  // Loads every .so file, in file-name order: of two that claim one event,
  // the first one's name wins. With `strict`, a file that cannot be loaded
  // (a dangling link, unreadable, not a plugin, refused) fails the start:
  // plugin_error names every such file, before any on_startup has run.
  std::shared_ptr<const plugin_table> load(bool strict);

  // Compares the directory with `current`: loads new and changed files, drops
  // removed ones, keeps the old version of any file whose new version is
  // refused. What serves wins a conflict: a new version that claims an event
  // of a plugin this reload leaves in place (unchanged, or kept because its
  // own new version was refused) is refused, whatever the file names; between
  // two new versions the file name decides. A replaced plugin's on_reload
  // state goes to its new version, and every new version's on_startup runs,
  // before the table is returned. The plugins the new table drops are stopped
  // (on_shutdown) and unloaded when the last event using them returns.
  // Returns null when nothing changed.
  std::shared_ptr<const plugin_table> reload(const plugin_table& current) { return reload(current, false); }

 private:
  // What identifies one version of a file.
  struct signature {
    std::filesystem::file_time_type modified;
    std::uintmax_t size = 0;
    std::uintmax_t inode = 0;
    bool operator==(const signature&) const = default;
  };

  std::shared_ptr<const plugin_table> reload(const plugin_table& current, bool strict);
  // Every entry named *.so that is not a folder, by file name: a dangling
  // link is listed too, so that it fails loudly instead of vanishing.
  std::map<std::string, std::filesystem::path> list() const;
  // The file's version, or why it cannot be read.
  static std::variant<signature, std::string> sign(const std::filesystem::path& file);
  // Logs and counts a file that could not be loaded; `loaded`: a version of it serves on.
  void refused(std::string_view label, std::string_view plugin, std::string_view why, bool loaded);
  // The table of `next` once every conflict is settled: a refused new version
  // gives way to its old version (in `replaces`), which then serves.
  std::shared_ptr<const plugin_table> settle(std::vector<std::shared_ptr<plugin>> next, std::set<const plugin*> serving,
                                             const std::map<const plugin*, std::shared_ptr<plugin>>& replaces);

  std::filesystem::path dir_;
  host_services& host_;
  // The version of each file last tried, loaded or refused, so a refused file
  // is tried again only once it changes.
  std::map<std::string, signature> seen_;
  // This pass's files that could not be loaded, as "file: why".
  std::vector<std::string> failures_;
};

}  // namespace microsockets
