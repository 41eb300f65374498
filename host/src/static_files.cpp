#include "static_files.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace microsockets {
namespace fs = std::filesystem;

static_files::static_files(const fs::path& root) : root_(fs::canonical(root)) {}

std::optional<fs::path> static_files::resolve(std::string_view target) const {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return std::nullopt;

  fs::path relative;
  auto segments = url->segments();  // decoded: "%2e%2e" is "..", "%2f" is "/"
  for (auto it = segments.begin(); it != segments.end(); ++it) {
    std::string segment = *it;
    const bool last = std::next(it) == segments.end();
    if (segment.empty() && last) break;  // a trailing slash: the directory's index
    if (segment.empty() || segment == "." || segment == ".." ||
        segment.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos)
      return std::nullopt;
    relative /= segment;
  }

  std::error_code ec;
  fs::path file = fs::canonical(root_ / relative, ec);  // follows symlinks
  if (ec) return std::nullopt;
  if (fs::is_directory(file, ec)) file = fs::canonical(file / "index.html", ec);
  if (ec || !fs::is_regular_file(file, ec)) return std::nullopt;
  // What the symlinks resolved to must still lie under the root.
  auto [r, f] = std::mismatch(root_.begin(), root_.end(), file.begin(), file.end());
  if (r != root_.end()) return std::nullopt;
  return file;
}

std::string_view static_files::content_type(const fs::path& file) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 13> types{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".ico", "image/x-icon"},
      {".wasm", "application/wasm"},
      {".ts", "text/plain; charset=utf-8"},
  }};
  const std::string extension = file.extension().string();
  for (const auto& [ext, type] : types)
    if (ext == extension) return type;
  return "application/octet-stream";
}

}  // namespace microsockets
