// The C function table handed to every plugin, implemented on host_services.
#pragma once

#include "plugins/plugin.hpp"

#include <microsockets/abi.h>

#include <string>
#include <string_view>

namespace microsockets {

const ms_host_api& host_api_table();

// The message a plugin reported with its last MS_FAILED on this thread.
std::string take_reported_error();

// Logs and counts a plugin callback that failed; true if it succeeded.
bool check_plugin_result(int rc, const plugin& p, std::string_view what, std::string_view event = {});

// Runs one plugin's on_startup or on_shutdown callbacks (`what`, a literal,
// names them in the log and to the watchdog), each failure logged and counted.
void run_lifecycle_hooks(plugin& p, std::vector<callback<ms_on_lifecycle>> registrations::*hooks,
                         const char* what);

}  // namespace microsockets
