// Tells systemd what the host is doing (sd_notify's protocol, without
// libsystemd): one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET.
// Without that variable (not started by systemd with Type=notify) these do
// nothing. Any thread; failures are logged at debug level and otherwise ignored,
// as systemd's own client does.
#pragma once

#include <string_view>

namespace microsockets::systemd_notify {

void ready();      // listening and serving: READY=1
void reloading();  // a SIGHUP reload starts: RELOADING=1; ready() again when done
void stopping();   // shutting down: STOPPING=1

// Sends `state` (newline-separated KEY=VALUE lines); false if nothing was sent.
bool send(std::string_view state);

}  // namespace microsockets::systemd_notify
