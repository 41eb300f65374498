// The C function table handed to every plugin, implemented on host_services.
#pragma once

#include "plugins/plugin.hpp"

#include <microsockets/abi.h>

#include <string>
#include <string_view>

namespace microsockets {

const ms_host_api& host_api_table();

}  // namespace microsockets
