// The plugins directory: which file each loaded plugin came from, and turning
// the directory's current contents into a new plugin_table (load and reload).
//
// Not thread-safe: the server calls it from one thread (worker 0).
#pragma once

#include "plugin_table.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <vector>

namespace microsockets {

class plugin_directory {
 public:
  plugin_directory(std::filesystem::path dir, host_services& host);

  struct generation {
    std::shared_ptr<const plugin_table> table;
    // Plugins of the previous table that this one no longer has (replaced or
    // removed): the server runs their on_shutdown once the new table is live.
    std::vector<std::shared_ptr<plugin>> retired;
  };

  // Loads every .so file, in file-name order.
  generation load();

  // Compares the directory with `current`: loads new and changed files, drops
  // removed ones, keeps the old version of any file whose new version is
  // refused. A replaced plugin's on_reload state goes to its new version, and
  // every new version's on_startup runs, before the table is returned.
  // Returns a null table when nothing changed.
  generation reload(const plugin_table& current);

 private:
  // What identifies one version of a file.
  struct signature {
    std::filesystem::file_time_type modified;
    std::uintmax_t size = 0;
    std::uintmax_t inode = 0;
    bool operator==(const signature&) const = default;
  };

  std::map<std::string, std::filesystem::path> list() const;  // by file name
  static std::optional<signature> sign(const std::filesystem::path& file);

  std::filesystem::path dir_;
  host_services& host_;
  // The version of each file last tried, loaded or refused, so a refused file
  // is tried again only once it changes.
  std::map<std::string, signature> seen_;
};

}  // namespace microsockets
