// Files served over plain HTTP from one directory (--static). Nothing outside
// it is ever served: "..", encoded dots and slashes, absolute paths and
// symlinks that lead out all resolve to nothing (404).
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace microsockets {

class static_files {
 public:
  // Throws std::filesystem::filesystem_error if `root` does not exist.
  explicit static_files(const std::filesystem::path& root);

  // The file a request target names ("/" and directories mean index.html).
  std::optional<std::filesystem::path> resolve(std::string_view target) const;

  static std::string_view content_type(const std::filesystem::path& file);

 private:
  std::filesystem::path root_;  // canonical
};

}  // namespace microsockets
