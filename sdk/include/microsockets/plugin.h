/*
 * microsockets plugin SDK for C: the two entry symbols of abi.h exported by one
 * macro, and two helpers for strings.
 *
 *   #include <microsockets/plugin.h>
 *
 *   static int on_echo(void* user, ms_call* call) {
 *     (void)user;
 *     ms_api->emit(ms_self, ms_api->call_connection(call), MS_STR("echo"),
 *                  ms_api->call_payload(call), 0);
 *     return MS_OK;  // MS_FAILED only for the plugin's own failure (see report_error)
 *   }
 *
 *   MICROSOCKETS_C_PLUGIN(echo) {
 *     return ms_api->register_event(ms_self, MS_STR("echo"), on_echo, NULL);
 *   }
 *
 * The braces after MICROSOCKETS_C_PLUGIN(name) are the body of the plugin's
 * init: the plugin is already registered under `name`; register handlers and
 * hooks and return MS_OK. `ms_api` and `ms_self` are the host table and this
 * plugin's host handle, for every file of the plugin: set before the body
 * runs, valid until the library is unloaded. Everything else is abi.h.
 * Use the macro once per plugin.
 *
 * Build it as a shared library with hidden visibility (see microsockets.pc).
 */
#ifndef MICROSOCKETS_PLUGIN_H
#define MICROSOCKETS_PLUGIN_H

#include <microsockets/abi.h>

#include <string.h>

#ifdef __cplusplus
#define MICROSOCKETS_C_EXPORT extern "C" __attribute__((visibility("default")))
#else
#define MICROSOCKETS_C_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Hidden: each plugin has its own, whatever else the process loads. */
__attribute__((visibility("hidden"))) extern const ms_host_api* ms_api;
__attribute__((visibility("hidden"))) extern ms_host* ms_self;

#ifdef __cplusplus
}
#endif

/* An ms_str for a string literal, without counting at run time. */
#ifdef __cplusplus
#define MS_STR(literal) (ms_str{"" literal, sizeof(literal) - 1})
#else
#define MS_STR(literal) ((ms_str){"" literal, sizeof(literal) - 1})
#endif

/* An ms_str for a NUL-terminated string (the NUL is not part of it). */
static inline ms_str ms_cstr(const char* text) {
  ms_str s = {text, strlen(text)};
  return s;
}

#define MICROSOCKETS_C_PLUGIN(name)                                                  \
  const ms_host_api* ms_api;                                                         \
  ms_host* ms_self;                                                                  \
  static int microsockets_c_plugin_setup(void);                                      \
  MICROSOCKETS_C_EXPORT const uint32_t microsockets_abi_version = MS_ABI_VERSION;    \
  MICROSOCKETS_C_EXPORT int microsockets_plugin_init(const ms_host_api* api,         \
                                                     ms_host* host) {                \
    int rc;                                                                          \
    ms_api = api;                                                                    \
    ms_self = host;                                                                  \
    rc = api->register_name(host, MS_STR(#name));                                    \
    return rc != MS_OK ? rc : microsockets_c_plugin_setup();                         \
  }                                                                                  \
  static int microsockets_c_plugin_setup(void)

#endif /* MICROSOCKETS_PLUGIN_H */
