// Preloaded into the host (LD_PRELOAD) to play a system without memfd_create,
// so that tests reach the private-folder fallback of plugin copies.
#include <cerrno>

extern "C" __attribute__((visibility("default"))) int memfd_create(const char*, unsigned) {
  errno = ENOSYS;
  return -1;
}
