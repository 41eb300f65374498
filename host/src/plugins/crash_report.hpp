// The host's last words: on SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT one
// line on stderr names the signal, the thread and what plugin code it ran
// (plugin_activity), then a backtrace follows, and the host dies of the same
// signal as it would have without us (default action: a core dump, and the
// exit status a supervisor restarts on).
//
// The handler is async-signal-safe: it formats into a buffer on its own stack
// and writes with write(2), no malloc, no fmt, no locks. It runs on an
// alternate stack on the threads that prepare one (the workers), so a stack
// overflow in a handler is reported too.
#pragma once

#include <pthread.h>

namespace microsockets::crash_report {

// Installs the handler for the whole process; call once, early in main().
void install();
// Gives the calling thread an alternate signal stack (kept until it ends),
// unless it has one already (a sanitizer's).
void prepare_thread();
// The watchdog is about to send SIGABRT to `thread`: the report says why.
void killing(pthread_t thread);

}  // namespace microsockets::crash_report
