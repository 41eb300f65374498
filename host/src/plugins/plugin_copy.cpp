#include "plugins/plugin_copy.hpp"

#include "plugins/plugin.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // Linux 6.3: executable even where vm.memfd_noexec makes memfds noexec by default
#endif

namespace microsockets {
namespace fs = std::filesystem;
namespace {

// Repeats a system call that a signal interrupted. The host blocks its signals
// in every thread, but a plugin may install handlers of its own.
template <class Call>
auto retrying(Call call) {
  for (;;) {
    auto rc = call();
    if (rc >= 0 || errno != EINTR) return rc;
  }
}

std::string error_text(int error) { return std::error_code(error, std::generic_category()).message(); }

// An anonymous executable file named after the plugin, or -1.
int anonymous_file(const fs::path& file) {
  const std::string name = file.filename().string().substr(0, 240);  // memfd names stop at 249 bytes
  if (::access("/proc/self/fd", X_OK) != 0) return -1;               // nothing to dlopen it through
  int fd = ::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = ::memfd_create(name.c_str(), MFD_CLOEXEC);  // a kernel before 6.3
  return fd;
}

void copy_all(const fs::path& file, int out) {
  const int in = retrying([&] { return ::open(file.c_str(), O_RDONLY | O_CLOEXEC); });
  if (in < 0) throw plugin_error(fmt::format("cannot read it: {}", error_text(errno)));
  struct ::stat st {};
  std::string failure;
  if (::fstat(in, &st) != 0) failure = error_text(errno);
  for (off_t at = 0; failure.empty() && at < st.st_size;) {
    const ssize_t n = retrying([&] { return ::sendfile(out, in, &at, std::size_t(st.st_size - at)); });
    if (n < 0) failure = error_text(errno);
    if (n == 0) failure = "it shrank while being copied";
  }
  ::close(in);
  if (!failure.empty()) throw plugin_error(fmt::format("cannot copy it: {}", failure));
}

}  // namespace

plugin_copy::plugin_copy(const fs::path& file) {
  memfd_ = anonymous_file(file);
  if (memfd_ >= 0) {
    path_ = fmt::format("/proc/self/fd/{}", memfd_);
    try {
      copy_all(file, memfd_);
    } catch (...) {
      ::close(memfd_);
      throw;
    }
    return;
  }
  std::error_code ec;
  const fs::path temporary = fs::temp_directory_path(ec);
  std::string folder = (temporary / "microsockets-XXXXXX").string();
  if (ec || !::mkdtemp(folder.data()))  // mode 0700
    throw plugin_error(fmt::format("no anonymous file, and cannot make a private folder in '{}': {}",
                                   temporary.string(), ec ? ec.message() : error_text(errno)));
  folder_ = folder;
  path_ = folder_ / file.filename();
  const int out = retrying([&] {
    return ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, S_IRWXU);
  });
  if (out < 0) {
    const int error = errno;
    ::rmdir(folder_.c_str());
    throw plugin_error(fmt::format("cannot create {}: {}", path_.string(), error_text(error)));
  }
  try {
    copy_all(file, out);
  } catch (...) {
    ::close(out);
    loaded();
    ::rmdir(folder_.c_str());
    throw;
  }
  ::close(out);
}

plugin_copy::~plugin_copy() {
  if (keep_) return;
  if (memfd_ >= 0) ::close(memfd_);
  if (!folder_.empty()) ::rmdir(folder_.c_str());
}

void plugin_copy::loaded() {
  if (!folder_.empty()) ::unlink(path_.c_str());
}

std::string plugin_copy::load_hint() const {
  struct ::statvfs st {};
  if (!folder_.empty() && ::statvfs(folder_.c_str(), &st) == 0 && (st.f_flag & ST_NOEXEC))
    return fmt::format("; the private copy's folder {} is on a noexec mount (anonymous files are unavailable): "
                       "set TMPDIR to a folder that allows executables",
                       folder_.parent_path().string());
  return "";
}

}  // namespace microsockets
