#include "http/static_files.hpp"

#include <boost/algorithm/string/trim.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include <sys/stat.h>

namespace microsockets {
namespace fs = std::filesystem;
namespace {

// When /etc/mime.types is missing: what a web page needs.
constexpr std::pair<std::string_view, std::string_view> fallback_types[] = {
    {"html", "text/html"},       {"js", "text/javascript"},   {"mjs", "text/javascript"},
    {"css", "text/css"},         {"json", "application/json"}, {"map", "application/json"},
    {"txt", "text/plain"},       {"svg", "image/svg+xml"},     {"png", "image/png"},
    {"jpg", "image/jpeg"},       {"ico", "image/x-icon"},      {"wasm", "application/wasm"},
};

// Text is served as UTF-8, the encoding of everything a browser loads today.
std::string with_charset(std::string_view type) {
  return type.starts_with("text/") ? fmt::format("{}; charset=utf-8", type) : std::string(type);
}

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110's IMF-fixdate).
constexpr const char* http_date_format = "%a, %d %b %Y %H:%M:%S GMT";

}  // namespace

static_files::static_files(const fs::path& root, const fs::path& mime_types) : root_(fs::canonical(root)) {
  std::ifstream in(mime_types);
  std::string line;
  while (std::getline(in, line)) {  // "type ext ext ...", '#' comments
    std::istringstream words(line.substr(0, line.find('#')));
    std::string type, ext;
    if (!(words >> type)) continue;
    while (words >> ext) types_.emplace("." + ext, with_charset(type));
  }
  if (types_.empty())
    for (const auto& [ext, type] : fallback_types) types_.emplace(fmt::format(".{}", ext), with_charset(type));
}

std::optional<static_files::found> static_files::resolve(std::string_view target) const {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return std::nullopt;

  fs::path relative;
  auto segments = url->segments();  // decoded: "%2e%2e" is "..", "%2f" is "/"
  bool trailing_slash = segments.empty();
  for (auto it = segments.begin(); it != segments.end(); ++it) {
    std::string segment = *it;
    const bool last = std::next(it) == segments.end();
    if (segment.empty() && last) {  // a trailing slash: the directory's index
      trailing_slash = true;
      break;
    }
    if (segment.empty() || segment == "." || segment == ".." ||
        segment.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos)
      return std::nullopt;
    relative /= segment;
  }

  std::error_code ec;
  fs::path file = fs::canonical(root_ / relative, ec);  // follows symlinks
  if (ec) return std::nullopt;
  std::string redirect;
  if (fs::is_directory(file, ec)) {
    if (!trailing_slash)
      redirect = fmt::format("{}/{}{}", std::string_view(url->encoded_path()), url->has_query() ? "?" : "",
                             std::string_view(url->encoded_query()));
    file = fs::canonical(file / "index.html", ec);
  }
  if (ec || !fs::is_regular_file(file, ec)) return std::nullopt;
  // What the symlinks resolved to must still lie under the root.
  auto [r, f] = std::mismatch(root_.begin(), root_.end(), file.begin(), file.end());
  if (r != root_.end()) return std::nullopt;
  return found{file, redirect};
}

std::string static_files::content_type(const fs::path& file) const {
  if (auto it = types_.find(file.extension().string()); it != types_.end()) return it->second;
  return "application/octet-stream";
}

static_files::version static_files::version_of(int fd) {
  struct ::stat st {};
  ::fstat(fd, &st);
  const auto ns = std::uint64_t(st.st_mtim.tv_sec) * 1'000'000'000 + std::uint64_t(st.st_mtim.tv_nsec);
  std::tm utc{};
  ::gmtime_r(&st.st_mtim.tv_sec, &utc);
  char date[64];
  std::strftime(date, sizeof date, http_date_format, &utc);
  return {fmt::format("\"{:x}-{:x}\"", ns, std::uint64_t(st.st_size)), date, st.st_mtim.tv_sec};
}

bool static_files::not_modified(const version& v, std::string_view if_none_match, std::string_view if_modified_since) {
  if (!if_none_match.empty()) {  // it decides alone when present (RFC 9110 13.2.2)
    std::string list(if_none_match);
    std::istringstream tags(list);
    for (std::string tag; std::getline(tags, tag, ',');) {
      boost::algorithm::trim(tag);
      if (tag.starts_with("W/")) tag.erase(0, 2);  // If-None-Match compares weakly
      if (tag == "*" || tag == v.etag) return true;
    }
    return false;
  }
  if (if_modified_since.empty()) return false;
  std::tm since{};
  const std::string text(if_modified_since);
  const char* end = ::strptime(text.c_str(), http_date_format, &since);
  if (!end || *end) return false;  // not an HTTP date: ignore it
  return v.modified <= ::timegm(&since);
}

}  // namespace microsockets
