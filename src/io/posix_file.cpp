#include "io/posix_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "tessera/core/error.hpp"

namespace tessera::detail {

PosixFile::PosixFile(std::string path, Mode mode) : m_path(std::move(path)) {
  m_fd = ::open(m_path.c_str(), (mode == Mode::read ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
  if (m_fd < 0) {
    throw io_error(fmt::format("cannot open '{}' for {}: {}", m_path,
                               mode == Mode::read ? "reading" : "writing", std::strerror(errno)));
  }
}

PosixFile::~PosixFile() {
  if (m_fd >= 0) ::close(m_fd);
}

void PosixFile::read_at(void* out, std::size_t n, std::uint64_t offset) const {
  auto* p = static_cast<char*>(out);
  while (n > 0) {
    const ssize_t got = ::pread(m_fd, p, n, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw io_error(fmt::format("cannot read {} bytes at offset {} of '{}': {}", n, offset, m_path,
                                 std::strerror(errno)));
    }
    if (got == 0) {
      throw io_error(
          fmt::format("'{}' is truncated: {} bytes at offset {} lie past its end ({} bytes)",
                      m_path, n, offset, size()));
    }
    p += got;
    n -= static_cast<std::size_t>(got);
    offset += static_cast<std::uint64_t>(got);
  }
}

void PosixFile::write_at(const void* data, std::size_t n, std::uint64_t offset) const {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t put = ::pwrite(m_fd, p, n, static_cast<off_t>(offset));
    if (put < 0) {
      if (errno == EINTR) continue;
      throw io_error(fmt::format("cannot write {} bytes at offset {} of '{}': {}", n, offset,
                                 m_path, std::strerror(errno)));
    }
    p += put;
    n -= static_cast<std::size_t>(put);
    offset += static_cast<std::uint64_t>(put);
  }
}

std::uint64_t PosixFile::size() const {
  struct stat st {};
  if (::fstat(m_fd, &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

FileStamp stat_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw io_error(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) throw io_error(fmt::format("'{}' is a directory, not a file", path));
  return {static_cast<std::uint64_t>(st.st_size),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

void resize_file(const std::string& path, std::uint64_t size) {
  if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) {
    throw io_error(
        fmt::format("cannot size '{}' to {} bytes: {}", path, size, std::strerror(errno)));
  }
}

}  // namespace tessera::detail
