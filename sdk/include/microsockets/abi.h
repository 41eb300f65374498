/*
 * microsockets plugin ABI: the C contract between the host and a plugin.
 * A plugin in C, Rust or C++ needs nothing but this header.
 *
 * Nothing C++-specific crosses this boundary: strings are (pointer, length)
 * pairs, results are status codes, and every pointer says who owns it and how
 * long it stays valid.
 *
 * Naming: ms_on_*   callbacks a plugin implements and the host calls;
 *         ms_host_api functions the host implements and a plugin calls;
 *         ms_*      plain types.
 *
 * A plugin exports two symbols (C linkage, default visibility):
 *   MS_SYMBOL_ABI_VERSION  const uint32_t, MS_ABI_VERSION it was built with;
 *                          the host reads it before anything else and refuses
 *                          a different major version.
 *   MS_SYMBOL_INIT         ms_plugin_init; registers everything through the
 *                          table and returns MS_OK.
 *
 * Strings. Every ms_str is a pointer and a length, never NUL-terminated
 * (neither the host's nor the plugin's): use `size`, not strlen. Their bytes
 * are UTF-8 where they come from the wire; keys and names are compared
 * byte for byte. A string the plugin passes in is owned by the plugin and
 * read only during the call (the host copies what it keeps). A string the
 * host hands out (a callback's argument, an ms_str_sink call, call_event,
 * call_payload) is owned by the host and valid only for as long as stated
 * there; copy it to keep it.
 *
 * Threads. The host runs `--threads N` event-loop threads ("host threads");
 * each connection belongs to one of them for its whole life. Callbacks:
 *   - ms_plugin_init, ms_on_save_state, ms_on_restore_state and on_startup:
 *     on the thread that loads plugins (the main thread at start, host
 *     thread 0 on a reload), one at a time. on_shutdown: on host thread 0
 *     when the host exits; for a version retired by a reload, on the host
 *     thread where its last event callback returns. Meanwhile other plugins'
 *     event callbacks (and during a reload, the other version's) may run on
 *     the other host threads.
 *   - ms_on_event, ms_on_middleware, ms_on_disconnect, ms_on_error: on the
 *     host thread of the connection concerned. With --threads > 1 these run
 *     concurrently on several threads, for different connections, so shared
 *     plugin state needs its own locking; callbacks for one connection never
 *     overlap and come in the order its messages arrived.
 *   - ms_on_connect: on the host thread that reads the upgrade request.
 * Every callback runs on a host thread that serves many connections: it must
 * not block (no sleeping, no blocking I/O, no waiting on a lock held across
 * such work). Hand slow work to a thread of the plugin's own, and answer
 * from there through an ms_conn_id; the ms_host_api functions below that
 * name a connection are callable from any thread.
 *
 * Order. Each connection (and the rooms on its host thread) sees the calls
 * of one caller (a host thread, or one thread of a plugin) in the order that
 * caller made them — e.g. a broadcast and then a close reach a member in that
 * order — whatever thread owns it; between different callers no order holds.
 * This holds within one host process.
 *
 * Statuses of connection calls. A call that names a connection of the
 * calling host thread runs in place and returns its real outcome. Any other
 * call is queued to the connection's thread (after checking that the
 * connection still exists) and returns MS_OK meaning "accepted, not yet
 * done": its later outcome (the connection went away meanwhile, a limit
 * closed it) is not reported back. Reads (rooms, get_attribute, request)
 * never wait for another thread: they see the state that the connection's
 * thread last published, which may not yet show the caller's own queued writes.
 *
 * Reload. When a plugin's file changes, its new version is loaded beside the
 * old one (the new version's init, then the old version's ms_on_save_state,
 * the new one's ms_on_restore_state and on_startup); from the swap on, new
 * events go to the new version, while events already inside the old version
 * finish there. Once the last of those has returned, the old version's
 * on_shutdown runs and it is unloaded. Connections, rooms and
 * attributes belong to the host and stay. The old version must not leave
 * threads running past its ms_on_shutdown, nor keep `api` or `host` anywhere
 * that outlives it. A version that fails to load is refused and the old one
 * keeps serving.
 *
 * Versions. The host table is append-only: a later minor version adds
 * functions at the end and raises `size`. A plugin built against a newer
 * minor than the host's tests for a function with MS_HAS before calling it.
 */
#ifndef MICROSOCKETS_ABI_H
#define MICROSOCKETS_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MS_ABI_MAJOR 1
#define MS_ABI_MINOR 2
#define MS_ABI_VERSION ((uint32_t)((MS_ABI_MAJOR << 16) | MS_ABI_MINOR))
#define MS_ABI_MAJOR_OF(version) ((uint32_t)(version) >> 16)

#define MS_SYMBOL_ABI_VERSION "microsockets_abi_version"
#define MS_SYMBOL_INIT "microsockets_plugin_init"

/* Whether the host's table has function `member` (a const ms_host_api*
 * `api`, a member name): true when the host's table reaches past it and the
 * entry is set. E.g. `if (MS_HAS(api, emit)) api->emit(...)`. */
#define MS_HAS(api, member)                                                          \
  ((api)->size >= offsetof(ms_host_api, member) + sizeof((api)->member) &&           \
   (api)->member != NULL)

/* A string slice: `size` bytes at `data`, not NUL-terminated. Owned by
 * whoever passes it; valid only during the call it is passed to. */
typedef struct ms_str {
  const char* data;
  size_t size;
} ms_str;

/* A connection. 0 is never a connection ("none"). Valid forever and usable
 * from any thread: after the connection is gone, calls naming it return
 * MS_GONE and do nothing. */
typedef uint64_t ms_conn_id;

/* One loaded plugin's view of the host. Owned by the host; valid from init
 * until the plugin is unloaded (after its on_shutdown). */
typedef struct ms_host ms_host;

/* One event being handled. Owned by the host; valid only during the
 * ms_on_event / ms_on_middleware call it is passed to, on that thread. */
typedef struct ms_call ms_call;

/* One upgrade request being decided. Owned by the host; valid only during the
 * ms_on_connect call it is passed to, on that thread. */
typedef struct ms_handshake ms_handshake;

typedef enum ms_status {
  MS_OK = 0,        /* done; for a queued call: accepted, not yet done */
  MS_GONE = 1,      /* the connection has disconnected or is closing; nothing was done */
  MS_INVALID = 2,   /* bad arguments (e.g. a payload that is not JSON) */
  MS_FAILED = 3,    /* plugin code failed; its message went to report_error */
  MS_NOT_FOUND = 4, /* no such attribute, header, query key, setting, or room membership */
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

/* Receives a string owned by the host, valid only during this call; called
 * on the caller's thread, before the function that was given it returns. */
typedef void (*ms_str_sink)(void* user, ms_str value);

/* Callbacks a plugin implements (see Threads above for which thread calls
 * each). `user` is the pointer given at registration; the plugin owns it and
 * keeps it valid until it is unloaded. Each returns MS_OK, or MS_FAILED after
 * handing its message to report_error (logged and counted by the host; for
 * an event, the client gets an "error" event naming the event, never the
 * message). None may block. */

/* A message for the registered event. `call` is valid during this call only. */
typedef int (*ms_on_event)(void* user, ms_call* call);
/* Runs before every handler; continues the chain by calling
 * ms_host_api.call_next(call) at most once; not calling it stops the event. */
typedef int (*ms_on_middleware)(void* user, ms_call* call);
/* on_startup: after all plugins are loaded (or after this version is loaded
 * by a reload), before it serves events. on_shutdown: before the host exits,
 * or when a version retired by a reload has finished its last event. */
typedef int (*ms_on_lifecycle)(void* user);
/* Decides an upgrade: reject it, set response headers, choose a subprotocol,
 * set attributes. The first plugin that rejects decides. */
typedef int (*ms_on_connect)(void* user, ms_handshake* handshake);
/* After a connection ended, with its close code; calls naming `conn` now
 * return MS_GONE. */
typedef int (*ms_on_disconnect)(void* user, ms_conn_id conn, uint16_t close_code);
/* A message that could not be dispatched (malformed envelope); `reason` is
 * valid during this call. */
typedef int (*ms_on_error)(void* user, ms_conn_id conn, ms_str reason);
/* Hot reload: the old version hands a blob to `sink` (at most once, during
 * this call); the new version receives it in restore, valid during that call. */
typedef int (*ms_on_save_state)(void* user, ms_str_sink sink, void* sink_user);
typedef int (*ms_on_restore_state)(void* user, ms_str blob);
/* The answer to room_members: status MS_OK with the members' ids (owned by
 * the host, valid only during this call), or MS_REFUSED with none when the
 * room's Redis cannot be reached. */
typedef void (*ms_on_members)(void* user, int status, const ms_conn_id* ids, size_t count);

typedef struct ms_host_api {
  uint32_t abi_version; /* MS_ABI_VERSION of the host */
  uint32_t size;        /* sizeof(ms_host_api) of the host: see MS_HAS */

  /* Registration: only inside ms_plugin_init, on its thread, else MS_REFUSED.
   * The host keeps `fn` and `user` until the plugin is unloaded and copies
   * the strings. An event registered twice by one plugin is MS_INVALID; one
   * that another plugin already handles makes the host refuse the plugin. */
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

  /* The event being handled: only during the callback that received `call`,
   * on its thread. */
  ms_conn_id (*call_connection)(ms_call* call);
  ms_str (*call_event)(ms_call* call);     /* valid until the callback returns */
  ms_str (*call_payload)(ms_call* call);   /* valid until set_payload or return */
  /* Replaces the payload that the rest of the chain sees (copied); MS_OK. */
  int (*call_set_payload)(ms_call* call, ms_str payload);
  /* Runs the rest of the chain and returns its status; a second call from
   * the same middleware is MS_REFUSED. */
  int (*call_next)(ms_call* call);

  /* The upgrade being decided: only during ms_on_connect, on its thread.
   * Strings are copied. */
  /* MS_NOT_FOUND if the field is absent; else `sink` receives it. */
  int (*handshake_request)(ms_handshake* hs, ms_request_field field, ms_str key, ms_str_sink sink,
                           void* sink_user);
  /* MS_INVALID unless 400 <= http_status <= 599. */
  int (*handshake_reject)(ms_handshake* hs, uint16_t http_status, ms_str reason);
  /* MS_INVALID unless `name` is an HTTP token and `value` has no CR, LF or NUL. */
  int (*handshake_set_header)(ms_handshake* hs, ms_str name, ms_str value);
  /* MS_INVALID unless the client offered `protocol`. */
  int (*handshake_select_protocol)(ms_handshake* hs, ms_str protocol);
  int (*handshake_set_attribute)(ms_handshake* hs, ms_str key, ms_str value);

  /* Connections: thread-safe, callable from any thread at any time while the
   * plugin is loaded; see Order and Statuses above. Strings are copied before
   * the call returns. MS_GONE: the connection is gone (or, for emit and
   * close run in place, closing). */
  /* Sends one event; `payload` goes out as a JSON string, or when
   * payload_is_json as the JSON value it is (MS_INVALID if it is not JSON). */
  int (*emit)(ms_host* host, ms_conn_id conn, ms_str event, ms_str payload, int payload_is_json);
  /* MS_OK also when it was a member already. MS_REFUSED past --max-room-name,
   * --max-rooms-per-connection or --max-room-names-bytes (nothing joined). */
  int (*join)(ms_host* host, ms_conn_id conn, ms_str room);
  /* MS_NOT_FOUND (run in place) when it was not a member. */
  int (*leave)(ms_host* host, ms_conn_id conn, ms_str room);
  /* A read: `sink` receives each room, in join order, before this returns. */
  int (*rooms)(ms_host* host, ms_conn_id conn, ms_str_sink sink, void* sink_user);
  /* Sends to every member of `rooms` (room_count slices, the array owned by
   * the caller, read during the call) once; skips `from` when skip_self.
   * `from` may be 0 for a broadcast that no connection sends. MS_OK,
   * MS_INVALID, or MS_REFUSED for more than --max-broadcast-rooms rooms
   * (nothing sent); never MS_GONE. */
  int (*broadcast)(ms_host* host, ms_conn_id from, ms_str event, ms_str payload,
                   int payload_is_json, const ms_str* rooms, size_t room_count, int skip_self);
  /* Starts the close handshake: code 1000-1003, 1007-1014 or 3000-4999,
   * else MS_INVALID; reason cut to 123 bytes. MS_GONE (run in place) when
   * it was already closing. */
  int (*close)(ms_host* host, ms_conn_id conn, uint16_t code, ms_str reason);
  /* Per-connection attributes, kept by the host across plugin reloads. */
  int (*set_attribute)(ms_host* host, ms_conn_id conn, ms_str key, ms_str value);
  /* Reads: MS_NOT_FOUND if absent; else `sink` receives the value. */
  int (*get_attribute)(ms_host* host, ms_conn_id conn, ms_str key, ms_str_sink sink,
                       void* sink_user);
  int (*request)(ms_host* host, ms_conn_id conn, ms_request_field field, ms_str key,
                 ms_str_sink sink, void* sink_user);

  /* The host. Any thread. */
  /* One log line, prefixed with the plugin's name; level is an ms_log_level. */
  void (*log)(ms_host* host, int level, ms_str message);
  /* A setting for this plugin: `--set <plugin>.<key>=...` or the environment
   * variable MICROSOCKETS_<PLUGIN>_<KEY>; MS_NOT_FOUND if neither is set. */
  int (*config)(ms_host* host, ms_str key, ms_str_sink sink, void* sink_user);
  /* The message of a failure about to be returned as MS_FAILED, from the
   * thread that will return it (copied). */
  void (*report_error)(ms_host* host, ms_str message);

  /* Minor version 1. */

  /* The members of `room` on every host of the cluster (--redis), or of this
   * host alone. Asynchronous, never blocking: returns MS_OK at once, and
   * `done` runs later on the worker thread of `conn` (the asking connection;
   * worker 0 for 0 or a connection of another host). If this plugin is
   * reloaded in between, the answer is dropped: `done` is never called. */
  int (*room_members)(ms_host* host, ms_conn_id conn, ms_str room, ms_on_members done, void* user);

  /* Minor version 2. */

  /* Registration (only inside ms_plugin_init): the request headers this
   * plugin reads after the upgrade, through `request` with MS_REQUEST_HEADER
   * (any case; `count` 0: none; each call adds to the last). A connection
   * keeps its upgrade's headers for its whole life while any loaded plugin
   * has not said which it reads; once every plugin has, a new connection
   * keeps only the headers named, and the others read as MS_NOT_FOUND.
   * ms_on_connect sees every header either way. A reload that changes the
   * set applies to connections that open after it. */
  int (*register_kept_headers)(ms_host* host, const ms_str* names, size_t count);
} ms_host_api;

/* The entry point, called once after loading (see Threads). `api` and `host`
 * stay valid until the plugin is unloaded. Returns MS_OK, or MS_FAILED after
 * report_error: the host then refuses the plugin. */
typedef int (*ms_plugin_init)(const ms_host_api* api, ms_host* host);

#ifdef __cplusplus
}
#endif

#endif /* MICROSOCKETS_ABI_H */
