/*
 * microsockets plugin ABI: the C contract between the host and a plugin.
 *
 * Nothing C++-specific crosses this boundary: strings are (pointer, length)
 * pairs, results are status codes, and every pointer says who owns it and how
 * long it stays valid.
 *
 * Naming: ms_on_*   callbacks a plugin implements and the host calls;
 *         ms_host_api functions the host implements and a plugin calls;
 *         ms_*      plain types.
 *
 * A plugin exports two symbols:
 *   MS_SYMBOL_ABI_VERSION  const uint32_t, MS_ABI_VERSION it was built with;
 *                          the host reads it before anything else and refuses
 *                          a different major version.
 *   MS_SYMBOL_INIT         ms_plugin_init; registers everything through the
 *                          table and returns MS_OK.
 *
 * The host table is append-only: a later minor version adds functions at the
 * end and raises `size`, so a plugin checks `size` before calling a function
 * newer than the minor version it was built with.
 */
#ifndef MICROSOCKETS_ABI_H
#define MICROSOCKETS_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MS_ABI_MAJOR 1
#define MS_ABI_MINOR 1
#define MS_ABI_VERSION ((uint32_t)((MS_ABI_MAJOR << 16) | MS_ABI_MINOR))
#define MS_ABI_MAJOR_OF(version) ((uint32_t)(version) >> 16)

/* True if the host's table has `member` (a function newer than the plugin's
 * oldest supported host may be missing): MS_HAS(api, room_members). */
#define MS_HAS(api, member) \
  ((api)->size >= offsetof(ms_host_api, member) + sizeof(((ms_host_api*)0)->member))

#define MS_SYMBOL_ABI_VERSION "microsockets_abi_version"
#define MS_SYMBOL_INIT "microsockets_plugin_init"

/* A string slice. Owned by whoever passes it; valid only during the call. */
typedef struct ms_str {
  const char* data;
  size_t size;
} ms_str;

/* A connection. 0 is never a connection ("none"). Valid forever: after the
 * connection is gone, calls naming it return MS_GONE and do nothing. */
typedef uint64_t ms_conn_id;

/* One loaded plugin's view of the host. Owned by the host; valid from init
 * until the plugin is unloaded. */
typedef struct ms_host ms_host;

/* One event being handled. Owned by the host; valid only during the
 * ms_on_event / ms_on_middleware call it is passed to. */
typedef struct ms_call ms_call;

/* One upgrade request being decided. Owned by the host; valid only during the
 * ms_on_connect call it is passed to. */
typedef struct ms_handshake ms_handshake;

typedef enum ms_status {
  MS_OK = 0,
  MS_GONE = 1,      /* the connection has disconnected; nothing was done */
  MS_INVALID = 2,   /* bad arguments (e.g. a payload that is not JSON) */
  MS_FAILED = 3,    /* plugin code failed; its message went to report_error */
  MS_NOT_FOUND = 4, /* no such attribute, header, query key or setting */
  MS_REFUSED = 5    /* not allowed now (e.g. registering after init) */
} ms_status;

typedef enum ms_log_level {
  MS_LOG_DEBUG = 0,
  MS_LOG_INFO = 1,
  MS_LOG_WARN = 2,
  MS_LOG_ERROR = 3
} ms_log_level;

/* Which part of the upgrade request to read. */
typedef enum ms_request_field {
  MS_REQUEST_PATH = 0,   /* the path without the query string; key unused */
  MS_REQUEST_QUERY = 1,  /* a decoded query parameter by name */
  MS_REQUEST_HEADER = 2, /* a header by case-insensitive name */
  MS_REQUEST_REMOTE = 3  /* "address:port" of the peer; key unused */
} ms_request_field;

/* Receives a string owned by the host, valid only during this call. */
typedef void (*ms_str_sink)(void* user, ms_str value);

/* Callbacks a plugin implements. `user` is the pointer given at registration;
 * the plugin owns it and keeps it valid until it is unloaded. Each returns
 * MS_OK, or MS_FAILED after handing its message to report_error. */
typedef int (*ms_on_event)(void* user, ms_call* call);
/* Middleware continues the chain by calling ms_host_api.call_next(call) at
 * most once; not calling it stops the event. */
typedef int (*ms_on_middleware)(void* user, ms_call* call);
typedef int (*ms_on_lifecycle)(void* user);
typedef int (*ms_on_connect)(void* user, ms_handshake* handshake);
typedef int (*ms_on_disconnect)(void* user, ms_conn_id conn, uint16_t close_code);
/* A message that could not be dispatched (malformed envelope). */
typedef int (*ms_on_error)(void* user, ms_conn_id conn, ms_str reason);
/* Hot reload: the old version hands a blob to `sink`; the new version
 * receives it in restore. */
typedef int (*ms_on_save_state)(void* user, ms_str_sink sink, void* sink_user);
typedef int (*ms_on_restore_state)(void* user, ms_str blob);
/* The answer to room_members: status MS_OK with the members' ids (owned by
 * the host, valid only during this call), or MS_REFUSED with none when the
 * room's Redis cannot be reached. */
typedef void (*ms_on_members)(void* user, int status, const ms_conn_id* ids, size_t count);

typedef struct ms_host_api {
  uint32_t abi_version; /* MS_ABI_VERSION of the host */
  uint32_t size;        /* sizeof(ms_host_api) of the host */

  /* Registration: only inside ms_plugin_init, else MS_REFUSED. */
  int (*register_name)(ms_host* host, ms_str name);
  int (*register_event)(ms_host* host, ms_str event, ms_on_event fn, void* user);
  int (*register_fallback)(ms_host* host, ms_on_event fn, void* user);
  int (*register_middleware)(ms_host* host, ms_on_middleware fn, void* user);
  int (*register_startup)(ms_host* host, ms_on_lifecycle fn, void* user);
  int (*register_shutdown)(ms_host* host, ms_on_lifecycle fn, void* user);
  int (*register_connect)(ms_host* host, ms_on_connect fn, void* user);
  int (*register_disconnect)(ms_host* host, ms_on_disconnect fn, void* user);
  int (*register_error)(ms_host* host, ms_on_error fn, void* user);
  int (*register_state)(ms_host* host, ms_on_save_state save, ms_on_restore_state restore,
                        void* user);

  /* The event being handled: only during the callback that received `call`. */
  ms_conn_id (*call_connection)(ms_call* call);
  ms_str (*call_event)(ms_call* call);     /* valid during the callback */
  ms_str (*call_payload)(ms_call* call);   /* valid until set_payload or return */
  int (*call_set_payload)(ms_call* call, ms_str payload);
  int (*call_next)(ms_call* call);         /* runs the rest of the chain */

  /* The upgrade being decided: only during ms_on_connect. */
  int (*handshake_request)(ms_handshake* hs, ms_request_field field, ms_str key, ms_str_sink sink,
                           void* sink_user);
  int (*handshake_reject)(ms_handshake* hs, uint16_t http_status, ms_str reason);
  int (*handshake_set_header)(ms_handshake* hs, ms_str name, ms_str value);
  int (*handshake_select_protocol)(ms_handshake* hs, ms_str protocol);
  int (*handshake_set_attribute)(ms_handshake* hs, ms_str key, ms_str value);

  /* Connections: thread-safe, callable from any thread at any time. Calls from
   * another thread than the connection's are queued to it, in order. */
  int (*emit)(ms_host* host, ms_conn_id conn, ms_str event, ms_str payload, int payload_is_json);
  int (*join)(ms_host* host, ms_conn_id conn, ms_str room);
  int (*leave)(ms_host* host, ms_conn_id conn, ms_str room);
  int (*rooms)(ms_host* host, ms_conn_id conn, ms_str_sink sink, void* sink_user);
  /* Sends to every member of `rooms` once; skips `from` when skip_self. `from`
   * may be 0 for a broadcast that no connection sends. */
  int (*broadcast)(ms_host* host, ms_conn_id from, ms_str event, ms_str payload,
                   int payload_is_json, const ms_str* rooms, size_t room_count, int skip_self);
  int (*close)(ms_host* host, ms_conn_id conn, uint16_t code, ms_str reason);
  int (*set_attribute)(ms_host* host, ms_conn_id conn, ms_str key, ms_str value);
  int (*get_attribute)(ms_host* host, ms_conn_id conn, ms_str key, ms_str_sink sink,
                       void* sink_user);
  int (*request)(ms_host* host, ms_conn_id conn, ms_request_field field, ms_str key,
                 ms_str_sink sink, void* sink_user);

  /* The host. */
  void (*log)(ms_host* host, int level, ms_str message);
  /* A setting for this plugin: `--set <plugin>.<key>=...` or the environment
   * variable MICROSOCKETS_<PLUGIN>_<KEY>. */
  int (*config)(ms_host* host, ms_str key, ms_str_sink sink, void* sink_user);
  /* The message of a failure about to be returned as MS_FAILED. */
  void (*report_error)(ms_host* host, ms_str message);

  /* Minor version 1. */

  /* The members of `room` on every host of the cluster (--redis), or of this
   * host alone. Asynchronous, never blocking: returns MS_OK at once, and
   * `done` runs later on the worker thread of `conn` (the asking connection;
   * worker 0 for 0 or a connection of another host). If this plugin is
   * reloaded in between, the answer is dropped: `done` is never called. */
  int (*room_members)(ms_host* host, ms_conn_id conn, ms_str room, ms_on_members done, void* user);
} ms_host_api;

/* The entry point. `api` and `host` stay valid until the plugin is unloaded. */
typedef int (*ms_plugin_init)(const ms_host_api* api, ms_host* host);

#ifdef __cplusplus
}
#endif

#endif /* MICROSOCKETS_ABI_H */
