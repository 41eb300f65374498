#include "plugins/plugin_settings.hpp"

#include <fmt/format.h>

#include <cctype>

namespace microsockets {

std::string setting_variable(std::string_view plugin, std::string_view key) {
  std::string name = fmt::format("MICROSOCKETS_{}_{}", plugin, key);
  for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? std::toupper(static_cast<unsigned char>(c)) : '_';
  return name;
}

bool reserved_plugin_name(std::string_view plugin) {
  return setting_variable(plugin, "").starts_with(setting_variable("host", ""));
}

}  // namespace microsockets
