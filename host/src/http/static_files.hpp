// Files served over plain HTTP from one directory (--static). Nothing outside
// it is ever served: "..", encoded dots and slashes, absolute paths and
// symlinks that lead out all resolve to nothing (404).
//
// Responses carry an ETag and Last-Modified, and Cache-Control: no-cache:
// browsers keep the file but ask again before each use, which costs a 304
// when nothing changed. A page of an application under development (or just
// deployed, under the same file names) is never shown stale, as a max-age
// would do.
#pragma once

#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace microsockets {

class static_files {
 public:
  // Throws std::filesystem::filesystem_error if `root` does not exist.
  // Content types come from `mime_types` (Debian's media-types package), or
  // a small built-in table if it cannot be read.
  explicit static_files(const std::filesystem::path& root,
                        const std::filesystem::path& mime_types = "/etc/mime.types");

  // What a request target names: a file ("/" and directories mean
  // index.html), or a directory named without its trailing slash, answered
  // with a redirect to `redirect` so that the page's relative links work.
  struct found {
    std::filesystem::path file;
    std::string redirect;  // empty: serve `file`
  };
  std::optional<found> resolve(std::string_view target) const;

  std::string content_type(const std::filesystem::path& file) const;

  // The validators of an open file's current version.
  struct version {
    std::string etag;           // "<mtime ns>-<size>" in hex, quoted
    std::string last_modified;  // an HTTP date
    std::time_t modified;
  };
  static version version_of(int fd);
  // True if the request's If-None-Match (or, without one, If-Modified-Since)
  // says the client has this version: answer 304.
  static bool not_modified(const version& v, std::string_view if_none_match, std::string_view if_modified_since);

 private:
  std::filesystem::path root_;  // canonical
  std::map<std::string, std::string, std::less<>> types_;  // ".js" -> "text/javascript; charset=utf-8"
};

}  // namespace microsockets
