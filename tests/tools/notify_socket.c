/*
 * Stands in for systemd's notification socket (node cannot bind AF_UNIX
 * datagram sockets): binds one at argv[1], "@name" meaning an abstract name,
 * prints "bound", then each datagram it receives, each line ending in a NUL
 * byte (a datagram holds newlines). Runs until killed.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char** argv) {
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  size_t length = argc == 2 ? strlen(argv[1]) : 0;
  if (length == 0 || length >= sizeof address.sun_path) {
    fprintf(stderr, "usage: notify_socket PATH|@NAME\n");
    return 2;
  }
  memcpy(address.sun_path, argv[1], length);
  if (argv[1][0] == '@') address.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (fd < 0 || bind(fd, (struct sockaddr*)&address, offsetof(struct sockaddr_un, sun_path) + length) != 0) {
    perror("notify_socket");
    return 1;
  }
  printf("bound%c", '\0');
  fflush(stdout);
  char datagram[4096];
  for (;;) {
    ssize_t n = recv(fd, datagram, sizeof datagram, 0);
    if (n < 0) return 1;
    fwrite(datagram, 1, (size_t)n, stdout);
    putchar('\0');
    fflush(stdout);
  }
}
