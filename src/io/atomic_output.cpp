#include "io/atomic_output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "io/collective.hpp"
#include "tessera/core/error.hpp"

namespace tessera::detail {

namespace {

/// Creates an empty file with a fresh name in the target's directory and returns its path:
/// ".<name>.tessera-<pid>-<random>.tmp", so that a leftover (a job killed midway) is recognisable.
std::string make_temporary(const std::string& target) {
  namespace fs = std::filesystem;
  const fs::path t(target);
  const fs::path dir = t.has_parent_path() ? t.parent_path() : fs::path(".");
  std::random_device rd;
  for (int attempt = 0; attempt < 16; ++attempt) {
    const fs::path p =
        dir / fmt::format(".{}.tessera-{}-{:08x}.tmp", t.filename().string(), ::getpid(), rd());
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::close(fd);
      return p.string();
    }
    if (errno != EEXIST) {
      throw io_error(fmt::format("cannot write '{}': cannot create a file in '{}': {}", target,
                                 dir.string(), std::strerror(errno)));
    }
  }
  throw io_error(fmt::format("cannot write '{}': no free temporary name in its directory", target));
}

}  // namespace

AtomicOutput::AtomicOutput(Scheduler& s, std::string target, bool overwrite,
                           const std::function<std::string(const std::string&)>& create)
    : m_scheduler(s), m_target(std::move(target)) {
  const std::string shared = query_on_root(s, [&] {
    struct stat st {};
    if (::stat(m_target.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode))
        throw io_error(fmt::format("cannot write '{}': it is a directory", m_target));
      if (!overwrite) {
        throw io_error(fmt::format(
            "cannot write '{}': the file exists (overwrite it with the overwrite option)",
            m_target));
      }
    }
    const std::string tmp = make_temporary(m_target);
    try {
      std::string layout = create(tmp);
      return fmt::format("{}\n{}", tmp, layout);
    } catch (...) {
      std::remove(tmp.c_str());
      throw;
    }
  });
  const auto nl = shared.find('\n');
  m_temporary = shared.substr(0, nl);
  m_layout = shared.substr(nl + 1);
}

AtomicOutput::~AtomicOutput() {
  if (!m_done && m_scheduler.rank() == 0) std::remove(m_temporary.c_str());
}

void AtomicOutput::commit(std::exception_ptr mine) {
  m_done = true;
  try {
    agree(m_scheduler, mine);
  } catch (...) {
    if (m_scheduler.rank() == 0) std::remove(m_temporary.c_str());
    throw;
  }
  // Every rank has written and closed its part: publish.
  query_on_root(m_scheduler, [&] {
    if (std::rename(m_temporary.c_str(), m_target.c_str()) != 0) {
      const int err = errno;
      std::remove(m_temporary.c_str());
      throw io_error(fmt::format("cannot write '{}': renaming '{}' to it failed: {}", m_target,
                                 m_temporary, std::strerror(err)));
    }
    return std::string();
  });
}

}  // namespace tessera::detail
