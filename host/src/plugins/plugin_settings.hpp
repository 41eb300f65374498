// Where a plugin's settings come from besides --set: the environment.
#pragma once

#include <string>
#include <string_view>

namespace microsockets {

// The environment variable of a plugin setting: MICROSOCKETS_<PLUGIN>_<KEY>,
// upper case, other characters as '_'.
std::string setting_variable(std::string_view plugin, std::string_view key);
// A plugin named so that its settings would fall among the host's own
// MICROSOCKETS_HOST_* variables ("host", "host_x"): refused at load.
bool reserved_plugin_name(std::string_view plugin);

}  // namespace microsockets
