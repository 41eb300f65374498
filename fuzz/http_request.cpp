// An HTTP request as the host reads it before any plugin sees it: Beast's
// request parser with the host's body limit; then, for an upgrade, the
// request_info that plugins read (path, query, headers); for anything else,
// the --static mapping of the target to a file. Nothing may crash, a header
// must read back as it was sent, and no target may lead out of the root.
#include "websocket/request_info.hpp"
#include "http/static_files.hpp"

#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using namespace microsockets;
namespace fs = std::filesystem;
namespace http = boost::beast::http;

namespace {

void check(bool ok) {
  if (!ok) std::abort();  // a finding: libFuzzer saves the input
}

// A --static root with a file, a directory with an index, a symlink inside
// and one leading out, next to a file that must never be served.
struct static_root {
  fs::path base = fs::temp_directory_path() / ("microsockets-fuzz-" + std::to_string(::getpid()));
  fs::path root = base / "www";
  static_root() {
    fs::create_directories(root / "sub");
    std::ofstream(root / "index.html") << "index";
    std::ofstream(root / "sub" / "index.html") << "sub";
    std::ofstream(root / "a.js") << "a";
    std::ofstream(base / "secret.txt") << "secret";
    fs::create_directory_symlink("sub", root / "inside");
    fs::create_directory_symlink("..", root / "outside");
  }
  ~static_root() { fs::remove_all(base); }
};

bool under(const fs::path& file, const fs::path& root) {
  auto [r, f] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
  return r == root.end();
}

// The headers the host keeps for plugins (it drops the handshake's own).
bool kept(std::string_view name) {
  for (std::string_view dropped : {"upgrade", "connection", "sec-websocket-key", "sec-websocket-version"})
    if (boost::beast::iequals(name, dropped)) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const static_root tree;
  static const static_files files(tree.root);
  static const fs::path root = fs::canonical(tree.root);

  http::request_parser<http::string_body> parser;
  parser.body_limit(8 * 1024);  // http_session's max_request_body
  parser.eager(true);
  boost::beast::error_code ec;
  boost::asio::const_buffer input(data, size);
  while (input.size() && !parser.is_done() && !ec) input += parser.put(input, ec);
  if (!parser.is_done()) return 0;  // the host answers nothing, or waits for more
  const auto req = parser.release();

  if (boost::beast::websocket::is_upgrade(req)) {
    // As http_session builds it for the on_connect hooks and the connection.
    request_info info(req.target(), "203.0.113.7:4242");
    for (const auto& field : req) info.add_header(field.name_string(), field.value());
    const std::string path = info.path();
    for (const auto& field : req) {
      if (!kept(field.name_string())) continue;
      // The first header of that name (any case) is the one a plugin reads.
      auto value = info.header(field.name_string());
      check(value.has_value());
      check(*value == req[field.name_string()]);
    }
    if (auto url = boost::urls::parse_origin_form(req.target()))
      for (auto param : url->params()) check(info.query(param.key).has_value());
    check(info.field(MS_REQUEST_REMOTE, {}) == "203.0.113.7:4242");
    return 0;
  }

  if (auto found = files.resolve(req.target())) {
    if (!found->redirect.empty()) {
      // A directory named without its slash: the redirect stays on this host.
      check(found->redirect.front() == '/' && found->redirect.find("//") != 0);
      return 0;
    }
    check(under(found->file, root));
    check(fs::is_regular_file(found->file));
    check(!files.content_type(found->file).empty());
  }
  return 0;
}
