// A private copy of a plugin file to dlopen: no other user can plant a symlink
// at its path or swap the library between the copy and the load.
//
// It is an anonymous file (memfd, loaded as /proc/self/fd/N, mapped as
// "/memfd:<file name> (deleted)"); where memfd is unavailable, a file created
// O_EXCL | O_NOFOLLOW in a folder of our own made by mkdtemp (mode 0700),
// unlinked as soon as the library is mapped.
//
// dlopen caches by path: the copy's path must never name another library while
// the one loaded from it is still mapped. So a copy lives (its memfd open, or
// its private folder present) until its library is unloaded, and is kept for
// good if the library could not be unmapped (see keep_forever).
#pragma once

#include <filesystem>
#include <string>

namespace microsockets {

class plugin_copy {
 public:
  // Copies `file`, retrying reads and writes a signal interrupts. Throws plugin_error.
  explicit plugin_copy(const std::filesystem::path& file);
  ~plugin_copy();
  plugin_copy(const plugin_copy&) = delete;
  plugin_copy& operator=(const plugin_copy&) = delete;

  // The path to dlopen.
  const std::filesystem::path& path() const { return path_; }
  // Call once dlopen has returned (loaded or not): the private folder's file
  // goes, the mapping stays.
  void loaded();
  // Why dlopen may have failed for a reason of the copy's own ("" if none).
  std::string load_hint() const;
  // The library stayed mapped after unloading: keep its path reserved.
  void keep_forever() { keep_ = true; }

 private:
  int memfd_ = -1;
  std::filesystem::path folder_;  // the private folder, when memfd is unavailable
  std::filesystem::path path_;
  bool keep_ = false;
};

}  // namespace microsockets
