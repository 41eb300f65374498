/*
 * floor: the measuring stick for bench/. A single-threaded epoll WebSocket
 * server that does only what the protocol forces, with the bench plugin's
 * semantics (join, say, echo; see bench/plugin/bench.cpp):
 *
 *   - the upgrade handshake (Sec-WebSocket-Accept through OpenSSL's SHA-1);
 *   - unmasking client frames, answering pings and closes;
 *   - finding "event" and "payload" well enough for those three events (no
 *     JSON parsing, no UTF-8 validation, no fragmented messages);
 *   - reading with edge-triggered epoll, a short read taken as "drained";
 *   - writing ready frames with one send per connection per loop turn.
 *
 * It is not a product: no limits, no timeouts, no error reporting beyond
 * closing the socket. No server on this machine can do the bench workloads
 * much better, so bench/run.mjs shows every server as a ratio to it.
 *
 *   floor PORT        listens on 127.0.0.1:PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { READ_BUFFER = 64 * 1024, MAX_EVENTS = 256, MAX_HANDSHAKE = 8192 };

typedef struct buffer {
  char* data;
  size_t size, capacity;
} buffer;

typedef struct room room;

typedef struct conn {
  int fd;
  int upgraded;
  int dirty;           /* on the flush list this turn */
  int closing;         /* flush what is queued, then close */
  int wants_writable;  /* EPOLLOUT registered: the kernel took only part */
  buffer in;           /* bytes of an incomplete frame or request, else empty */
  buffer out;          /* frames not yet taken by the kernel */
  room** rooms;        /* rooms joined */
  size_t room_count;
  struct conn* next_dirty;
} conn;

struct room {
  char* name;
  size_t name_size;
  conn** members;
  size_t size, capacity;
  room* next;
};

static room* all_rooms;
static conn* dirty_list;
static char read_buffer[READ_BUFFER];

static void* xrealloc(void* p, size_t n) {
  void* q = realloc(p, n);
  if (!q) {
    perror("floor: realloc");
    exit(1);
  }
  return q;
}

static void append(buffer* b, const char* data, size_t n) {
  if (b->size + n > b->capacity) {
    b->capacity = (b->size + n) * 2;
    b->data = xrealloc(b->data, b->capacity);
  }
  memcpy(b->data + b->size, data, n);
  b->size += n;
}

static void release(buffer* b) {
  free(b->data);
  b->data = NULL;
  b->size = b->capacity = 0;
}

static void mark_dirty(conn* c) {
  if (c->dirty) return;
  c->dirty = 1;
  c->next_dirty = dirty_list;
  dirty_list = c;
}

/* An unmasked server frame: header then payload, appended to `out`. */
static void frame_header(buffer* out, unsigned opcode, size_t n) {
  char h[10];
  size_t len = 2;
  h[0] = (char)(0x80 | opcode);
  if (n < 126) {
    h[1] = (char)n;
  } else if (n < 65536) {
    h[1] = 126;
    h[2] = (char)(n >> 8);
    h[3] = (char)n;
    len = 4;
  } else {
    h[1] = 127;
    for (int i = 0; i < 8; ++i) h[2 + i] = (char)((uint64_t)n >> (56 - 8 * i));
    len = 10;
  }
  append(out, h, len);
}

/* {"event":"<name>","payload":<raw JSON value>} as one text frame. */
static void event_frame(buffer* out, const char* name, const char* payload, size_t payload_size) {
  static const char a[] = "{\"event\":\"", b[] = "\",\"payload\":", c[] = "}";
  const size_t name_size = strlen(name);
  frame_header(out, 1, sizeof a - 1 + name_size + sizeof b - 1 + payload_size + sizeof c - 1);
  append(out, a, sizeof a - 1);
  append(out, name, name_size);
  append(out, b, sizeof b - 1);
  append(out, payload, payload_size);
  append(out, c, sizeof c - 1);
}

static room* find_room(const char* name, size_t n) {
  for (room* r = all_rooms; r; r = r->next)
    if (r->name_size == n && memcmp(r->name, name, n) == 0) return r;
  return NULL;
}

static void join_room(conn* c, const char* name, size_t n) {
  room* r = find_room(name, n);
  if (!r) {
    r = calloc(1, sizeof *r);
    r->name = xrealloc(NULL, n ? n : 1);
    memcpy(r->name, name, n);
    r->name_size = n;
    r->next = all_rooms;
    all_rooms = r;
  }
  for (size_t i = 0; i < c->room_count; ++i)
    if (c->rooms[i] == r) return;
  if (r->size == r->capacity) {
    r->capacity = r->capacity ? r->capacity * 2 : 4;
    r->members = xrealloc(r->members, r->capacity * sizeof *r->members);
  }
  r->members[r->size++] = c;
  c->rooms = xrealloc(c->rooms, (c->room_count + 1) * sizeof *c->rooms);
  c->rooms[c->room_count++] = r;
}

static void leave_all(conn* c) {
  for (size_t i = 0; i < c->room_count; ++i) {
    room* r = c->rooms[i];
    for (size_t j = 0; j < r->size; ++j)
      if (r->members[j] == c) {
        r->members[j] = r->members[--r->size];
        break;
      }
  }
  free(c->rooms);
  c->rooms = NULL;
  c->room_count = 0;
}

/* The raw JSON value after `"key":` (no nesting beyond strings). */
static int find_value(const char* text, size_t n, const char* key, const char** value, size_t* value_size) {
  const size_t key_size = strlen(key);
  const char* end = text + n;
  for (const char* p = text; p + key_size + 2 < end; ++p) {
    if (*p != '"' || memcmp(p + 1, key, key_size) != 0 || p[1 + key_size] != '"') continue;
    p += key_size + 2;
    while (p < end && (*p == ' ' || *p == ':')) ++p;
    const char* start = p;
    if (p < end && *p == '"') {
      for (++p; p < end && *p != '"'; ++p)
        if (*p == '\\') ++p;
      ++p;
    } else {
      while (p < end && *p != ',' && *p != '}') ++p;
    }
    if (p > end) return 0;
    *value = start;
    *value_size = (size_t)(p - start);
    return 1;
  }
  return 0;
}

static void on_message(conn* c, const char* text, size_t n) {
  const char *event, *payload = "\"\"";
  size_t event_size, payload_size = 2;
  if (!find_value(text, n, "event", &event, &event_size) || event_size < 2) return;
  find_value(text, n, "payload", &payload, &payload_size);
  event += 1;
  event_size -= 2;
  if (event_size == 4 && memcmp(event, "echo", 4) == 0) {
    event_frame(&c->out, "echo", payload, payload_size);
    mark_dirty(c);
  } else if (event_size == 4 && memcmp(event, "join", 4) == 0) {
    if (payload_size >= 2 && payload[0] == '"') join_room(c, payload + 1, payload_size - 2);
    event_frame(&c->out, "joined", payload, payload_size);
    mark_dirty(c);
  } else if (event_size == 3 && memcmp(event, "say", 3) == 0) {
    buffer frame = {0};  /* encoded once, copied to each member */
    event_frame(&frame, "said", payload, payload_size);
    for (size_t i = 0; i < c->room_count; ++i) {
      room* r = c->rooms[i];
      for (size_t j = 0; j < r->size; ++j) {
        conn* m = r->members[j];
        if (m == c) continue;
        append(&m->out, frame.data, frame.size);
        mark_dirty(m);
      }
    }
    release(&frame);
  }
}

/* Consumes whole frames from data; returns the bytes used, or -1 to drop. */
static long on_frames(conn* c, char* data, size_t n) {
  size_t at = 0;
  while (n - at >= 2) {
    const unsigned char* h = (const unsigned char*)data + at;
    const unsigned opcode = h[0] & 0x0f;
    if (!(h[1] & 0x80)) return -1; /* client frames must be masked */
    uint64_t len = h[1] & 0x7f;
    size_t header = 2;
    if (len == 126) {
      if (n - at < 4) break;
      len = ((uint64_t)h[2] << 8) | h[3];
      header = 4;
    } else if (len == 127) {
      if (n - at < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | h[2 + i];
      header = 10;
    }
    if (len > (1u << 26)) return -1;
    if (n - at < header + 4 + len) break;
    const unsigned char* key = h + header;
    char* payload = data + at + header + 4;
    for (uint64_t i = 0; i < len; ++i) payload[i] ^= (char)key[i & 3];
    if (opcode == 1) {
      on_message(c, payload, (size_t)len);
    } else if (opcode == 9) {
      frame_header(&c->out, 10, (size_t)len);
      append(&c->out, payload, (size_t)len);
      mark_dirty(c);
    } else if (opcode == 8) {
      frame_header(&c->out, 8, len >= 2 ? 2 : 0);
      append(&c->out, payload, len >= 2 ? 2 : 0);
      c->closing = 1;
      mark_dirty(c);
      return (long)n;
    } else if (opcode != 10) {
      return -1;
    }
    at += header + 4 + (size_t)len;
  }
  return (long)at;
}

static int handshake(conn* c, const char* data, size_t n) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  const char* key = NULL;
  size_t key_size = 0;
  for (const char* p = data; p < data + n;) {
    const char* eol = memchr(p, '\n', (size_t)(data + n - p));
    if (!eol) break;
    if ((size_t)(eol - p) > 18 && strncasecmp(p, "sec-websocket-key:", 18) == 0) {
      key = p + 18;
      while (*key == ' ') ++key;
      key_size = (size_t)(eol - key);
      while (key_size && (key[key_size - 1] == '\r' || key[key_size - 1] == ' ')) --key_size;
    }
    p = eol + 1;
  }
  if (!key || key_size > 64) return -1;
  char joined[128];
  memcpy(joined, key, key_size);
  memcpy(joined + key_size, guid, sizeof guid - 1);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1((const unsigned char*)joined, key_size + sizeof guid - 1, digest);
  char accept[64];
  EVP_EncodeBlock((unsigned char*)accept, digest, SHA_DIGEST_LENGTH);
  char response[256];
  const int len = snprintf(response, sizeof response,
                           "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                           accept);
  append(&c->out, response, (size_t)len);
  mark_dirty(c);
  c->upgraded = 1;
  return 0;
}

static void drop(int epoll_fd, conn* c) {
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  leave_all(c);
  release(&c->in);
  release(&c->out);
  mark_dirty(c); /* freed when the flush list reaches it, after this turn's events */
}

/* Handles bytes read; returns 0 to keep the connection. */
static int on_bytes(conn* c, char* data, size_t n) {
  if (c->in.size) { /* a frame or request started in an earlier read */
    append(&c->in, data, n);
    data = c->in.data;
    n = c->in.size;
  }
  size_t used = 0;
  if (!c->upgraded) {
    char* end = memmem(data, n, "\r\n\r\n", 4);
    if (!end) {
      if (n > MAX_HANDSHAKE) return -1;
    } else {
      if (handshake(c, data, (size_t)(end - data)) != 0) return -1;
      used = (size_t)(end + 4 - data);
    }
  }
  if (c->upgraded) {
    const long taken = on_frames(c, data + used, n - used);
    if (taken < 0) return -1;
    used += (size_t)taken;
  }
  if (used == n) {
    c->in.size = 0;
    if (c->in.capacity > READ_BUFFER) release(&c->in);
  } else if (data == c->in.data) {
    memmove(c->in.data, c->in.data + used, n - used);
    c->in.size = n - used;
  } else {
    append(&c->in, data + used, n - used);
  }
  return 0;
}

static void on_readable(int epoll_fd, conn* c) {
  for (;;) {
    const ssize_t n = recv(c->fd, read_buffer, sizeof read_buffer, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return drop(epoll_fd, c);
    if (n < 0) return;
    if (on_bytes(c, read_buffer, (size_t)n) != 0) return drop(epoll_fd, c);
    if ((size_t)n < sizeof read_buffer) return; /* a short read: drained */
  }
}

/* Readability always, edge-triggered; writability only while output waits. */
static void watch(int epoll_fd, conn* c, int op, int writable) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET | EPOLLRDHUP | (writable ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(epoll_fd, op, c->fd, &ev);
  c->wants_writable = writable;
}

static void flush(int epoll_fd, conn* c) {
  if (c->out.size) {
    const ssize_t sent = send(c->fd, c->out.data, c->out.size, MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN) return drop(epoll_fd, c);
    if (sent > 0) {
      memmove(c->out.data, c->out.data + sent, c->out.size - (size_t)sent);
      c->out.size -= (size_t)sent;
    }
    if (c->out.size) { /* the kernel is full: wait for writability, once */
      if (!c->wants_writable) watch(epoll_fd, c, EPOLL_CTL_MOD, 1);
      return;
    }
    if (c->wants_writable) watch(epoll_fd, c, EPOLL_CTL_MOD, 0);
    if (c->out.capacity > READ_BUFFER) release(&c->out);
  }
  if (c->closing) drop(epoll_fd, c);
}

static void flush_dirty(int epoll_fd) {
  while (dirty_list) {
    conn* c = dirty_list;
    dirty_list = c->next_dirty;
    c->dirty = 0;
    if (c->fd < 0) free(c); /* dropped while listed */
    else flush(epoll_fd, c);
  }
}

static int listen_on(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(fd, 4096) != 0) {
    perror("floor: listen");
    exit(1);
  }
  return fd;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: floor PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  const int listen_fd = listen_on(atoi(argv[1]));
  const int epoll_fd = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);
  fprintf(stderr, "listening on %s\n", argv[1]);
  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    const int ready = epoll_wait(epoll_fd, events, MAX_EVENTS, -1);
    for (int i = 0; i < ready; ++i) {
      conn* c = events[i].data.ptr;
      if (!c) {
        int fd;
        while ((fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          const int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn* fresh = calloc(1, sizeof *fresh);
          fresh->fd = fd;
          watch(epoll_fd, fresh, EPOLL_CTL_ADD, 0);
        }
        continue;
      }
      if (c->fd < 0) continue;
      if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) on_readable(epoll_fd, c);
      if (c->fd >= 0 && (events[i].events & EPOLLOUT) && c->out.size) mark_dirty(c);
    }
    flush_dirty(epoll_fd);
  }
}
