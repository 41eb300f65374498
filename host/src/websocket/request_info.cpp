#include "websocket/request_info.hpp"

#include <boost/algorithm/string/case_conv.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>

namespace microsockets {

request_info::request_info(std::string_view target, std::string remote) : target_(target), remote_(std::move(remote)) {}

void request_info::add_header(std::string_view name, std::string_view value) {
  const std::string key = boost::algorithm::to_lower_copy(std::string(name));
  if (key == "upgrade" || key == "connection" || key == "sec-websocket-key" || key == "sec-websocket-version") return;
  headers_ += key;
  headers_ += ": ";
  headers_ += value;
  headers_ += '\n';
}

void request_info::keep_only_headers(const std::vector<std::string>& names) {
  std::string kept;
  std::string_view rest = headers_;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    const std::string_view line = rest.substr(0, end + 1);
    if (std::binary_search(names.begin(), names.end(), line.substr(0, line.find(':')))) kept += line;
    rest.remove_prefix(line.size());
  }
  // Swapped, not moved: a move from a short string would copy it into the
  // old buffer and keep all of its capacity, which is what is to be freed.
  kept.shrink_to_fit();
  headers_.swap(kept);
}

std::string request_info::path() const {
  auto url = boost::urls::parse_origin_form(target_);
  return url ? std::string(url->path()) : target_.substr(0, target_.find('?'));
}

std::optional<std::string> request_info::query(std::string_view key) const {
  auto url = boost::urls::parse_origin_form(target_);
  if (!url) return std::nullopt;
  for (auto param : url->params())
    if (param.key == key) return param.has_value ? std::string(param.value) : std::string();
  return std::nullopt;
}

std::optional<std::string> request_info::header(std::string_view name) const {
  // A name holding ':' or a line break is no header name, and would match
  // inside another header's line.
  if (name.empty() || name.find_first_of(":\r\n") != std::string_view::npos) return std::nullopt;
  const std::string wanted = boost::algorithm::to_lower_copy(std::string(name)) + ": ";
  std::string_view rest = headers_;
  while (!rest.empty()) {
    auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    if (line.starts_with(wanted)) return std::string(line.substr(wanted.size()));
    rest.remove_prefix(end + 1);
  }
  return std::nullopt;
}

std::optional<std::string> request_info::field(ms_request_field field, std::string_view key) const {
  switch (field) {
    case MS_REQUEST_PATH: return path();
    case MS_REQUEST_REMOTE: return remote_;
    case MS_REQUEST_QUERY: return query(key);
    case MS_REQUEST_HEADER: return header(key);
  }
  return std::nullopt;
}

}  // namespace microsockets
