// on_connect: refuses the upgrade with 401 unless the request carries one of
// the configured tokens, as ?token=... or "Authorization: Bearer ...".
//
// Configuration: --set token_auth.tokens=a,b (or MICROSOCKETS_TOKEN_AUTH_TOKENS=a,b).
// With no tokens configured every upgrade is refused: failing closed.
// An accepted connection carries its token in the attribute "token".
#include <microsockets/plugin.hpp>

#include <set>
#include <string>

namespace {

std::set<std::string, std::less<>> split(std::string_view list) {
  std::set<std::string, std::less<>> out;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    if (!item.empty()) out.emplace(item);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return out;
}

std::optional<std::string> presented_token(const microsockets::handshake& hs) {
  if (auto token = hs.query("token")) return token;
  constexpr std::string_view bearer = "Bearer ";
  if (auto auth = hs.header("authorization"); auth && auth->starts_with(bearer))
    return auth->substr(bearer.size());
  return std::nullopt;
}

}  // namespace

MICROSOCKETS_PLUGIN(token_auth) {
  app.keep_headers({});  // reads them in on_connect only
  auto tokens = split(app.config("tokens").value_or(""));
  if (tokens.empty())
    app.log(microsockets::log_level::warn, "no tokens configured (--set token_auth.tokens=...): refusing every connection");

  app.on_connect([tokens](microsockets::handshake& hs) {
    auto token = presented_token(hs);
    if (!token) return (void)hs.reject(401, "a token is required (?token=... or Authorization: Bearer ...)");
    if (!tokens.contains(*token)) return (void)hs.reject(401, "unknown token");
    hs.set("token", *token);
  });
}
