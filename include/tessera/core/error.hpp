#pragma once
/// @file
/// The exception hierarchy. Every error Tessera raises derives from `tessera::error`, and its
/// message names what was wrong (shapes, axes, dtypes, the failing task).

#include <cstddef>
#include <stdexcept>
#include <string>

namespace tessera {

/// Base of every exception Tessera throws.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Incompatible or invalid shapes: broadcasting, reshaping, chunk specs that do not tile a shape.
class shape_error : public error {
 public:
  using error::error;
};

/// An axis or index outside the valid range.
class index_error : public error {
 public:
  using error::error;
};

/// A dtype an operation does not support, or a value of the wrong type.
class dtype_error : public error {
 public:
  using error::error;
};

/// An invalid argument value that is not about shapes, indices or dtypes.
class value_error : public error {
 public:
  using error::error;
};

/// Memory for an array or a value could not be allocated. The message names the bytes asked
/// for and what they were for (shape and dtype), where a bare std::bad_alloc names nothing.
class memory_error : public error {
 public:
  using error::error;
};

/// A file or path that cannot be used: missing, unreadable or unwritable, or not in the format
/// expected. The message names the path and what failed, with the system's or the file
/// library's reason ("cannot open 'run/out.h5' for reading: No such file or directory").
/// Storage layers (HDF5 files) throw it.
class io_error : public error {
 public:
  using error::error;
};

/// A malformed task graph: cycles, missing keys, bad arguments.
class graph_error : public error {
 public:
  using error::error;
};

/// A task raised while the graph ran. The message names the task (and, in a distributed run,
/// the rank it ran on) and carries the original message: "task ('sum-3fa2c1de', 2) failed on
/// rank 1: ...". `task()` is the task's name, `what_original()` the inner message, `rank()`
/// the rank (-1 when the run was not distributed).
class task_error : public error {
 public:
  task_error(std::string task, std::string original, int rank = -1);
  const std::string& task() const noexcept { return m_task; }
  const std::string& what_original() const noexcept { return m_original; }
  int rank() const noexcept { return m_rank; }

 private:
  std::string m_task;
  std::string m_original;
  int m_rank;
};

namespace detail {
/// "1.5 GiB (1610612736 bytes)": a byte count for messages.
std::string format_bytes(std::size_t bytes);
}  // namespace detail

}  // namespace tessera
