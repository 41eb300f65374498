// What a plugin's callback returned: MS_OK, or a failure that is logged (at
// most a line a second) and counted, with the message the plugin reported.
#pragma once

#include "plugins/plugin.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace microsockets {

// report_error of the ABI: the message of this thread's next failure.
void report_error(std::string_view message);
// The message a plugin reported with its last MS_FAILED on this thread.
std::string take_reported_error();
// Logs and counts a plugin callback that failed; true if it succeeded.
bool check_plugin_result(int rc, const plugin& p, std::string_view what, std::string_view event = {});
// Runs one plugin's on_startup or on_shutdown callbacks (`what`, a literal,
// names them in the log and to the watchdog), each failure logged and counted.
void run_lifecycle_hooks(plugin& p, std::vector<callback<ms_on_lifecycle>> registrations::*hooks,
                         const char* what);

}  // namespace microsockets
