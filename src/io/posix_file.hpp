#pragma once
// A file descriptor for positioned reads and writes from many threads at once (pread/pwrite
// need no shared file position), with errors that name the path.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace tessera::detail {

class PosixFile {
 public:
  enum class Mode { read, write };
  /// Opens an existing file; io_error naming the path and the system's reason on failure.
  PosixFile(std::string path, Mode mode);
  ~PosixFile();
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  const std::string& path() const noexcept { return m_path; }
  /// Reads exactly `n` bytes at `offset` (io_error on a short file: "truncated").
  void read_at(void* out, std::size_t n, std::uint64_t offset) const;
  void write_at(const void* data, std::size_t n, std::uint64_t offset) const;
  std::uint64_t size() const;

 private:
  std::string m_path;
  int m_fd = -1;
};

/// A file opened by the first thread that needs it on this rank (a rank that reads or writes
/// nothing never opens it), closed with the object. A failed open throws to that caller and
/// lets the next one try again.
class LazyFile {
 public:
  LazyFile(std::string path, PosixFile::Mode mode) : m_path(std::move(path)), m_mode(mode) {}
  const PosixFile& get() {
    std::call_once(m_opened, [this] { m_file.emplace(m_path, m_mode); });
    return *m_file;
  }

 private:
  std::string m_path;
  PosixFile::Mode m_mode;
  std::once_flag m_opened;
  std::optional<PosixFile> m_file;
};

/// The size in bytes and modification time (ns) of `path`; io_error when it cannot be stat'ed.
struct FileStamp {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};
FileStamp stat_file(const std::string& path);

/// Sets the size of the file at `path` (the new bytes are a hole, not written); io_error on
/// failure.
void resize_file(const std::string& path, std::uint64_t size);

}  // namespace tessera::detail
