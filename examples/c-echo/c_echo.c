/*
 * A plugin in plain C, against abi.h and plugin.h only.
 *
 *   echo    answers "echo" with the payload it received
 *   whoami  answers "whoami" with the peer's address, read through a sink
 *
 * A handler returns MS_OK unless the plugin itself failed: a client that left
 * meanwhile (emit returns MS_GONE) is not the plugin's failure.
 */
#include <microsockets/plugin.h>

static int on_echo(void* user, ms_call* call) {
  (void)user;
  ms_api->emit(ms_self, ms_api->call_connection(call), MS_STR("echo"), ms_api->call_payload(call), 0);
  return MS_OK;
}

/* The host lends the string to the sink only during the call: use it there. */
static void emit_remote(void* user, ms_str remote) {
  const ms_conn_id* conn = user;
  ms_api->emit(ms_self, *conn, MS_STR("whoami"), remote, 0);
}

static int on_whoami(void* user, ms_call* call) {
  ms_conn_id conn = ms_api->call_connection(call);
  (void)user;
  ms_api->request(ms_self, conn, MS_REQUEST_REMOTE, MS_STR(""), emit_remote, &conn);
  return MS_OK;
}

MICROSOCKETS_C_PLUGIN(c_echo) {
  int rc = ms_api->register_event(ms_self, MS_STR("echo"), on_echo, NULL);
  if (rc == MS_OK) rc = ms_api->register_event(ms_self, MS_STR("whoami"), on_whoami, NULL);
  return rc;
}
