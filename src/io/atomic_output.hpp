#pragma once
// An output file that every rank writes a part of, published at its target path only when
// every rank has succeeded: it is made under a temporary name in the target's directory (so the
// final rename is atomic) and renamed by rank 0 at the end. On any failure the temporary is
// removed and the target is left as it was. Collective.

#include <exception>
#include <functional>
#include <string>

#include "tessera/exec/scheduler.hpp"

namespace tessera::detail {

class AtomicOutput {
 public:
  /// Rank 0 checks the target (an existing file is replaced only with `overwrite`), picks a
  /// temporary path next to it and calls `create(temporary)`, which makes the file (a header,
  /// HDF5 metadata) and returns what every rank needs to write its part. Any failure is raised
  /// on every rank, and no file is left. Collective.
  AtomicOutput(Scheduler& s, std::string target, bool overwrite,
               const std::function<std::string(const std::string& temporary)>& create);
  /// Removes the temporary if commit() was never called (rank 0).
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  const std::string& temporary() const noexcept { return m_temporary; }
  /// What `create` returned, on every rank.
  const std::string& layout() const noexcept { return m_layout; }

  /// Every rank says whether its part failed (`mine`, nullptr: it succeeded) and has closed
  /// the file. If all succeeded, rank 0 renames the temporary to the target; otherwise, or if
  /// the rename fails, the temporary is removed and every rank throws the same error. Collective.
  void commit(std::exception_ptr mine);

 private:
  Scheduler& m_scheduler;
  std::string m_target;
  std::string m_temporary;
  std::string m_layout;
  bool m_done = false;
};

}  // namespace tessera::detail
