#include "core/error_wire.hpp"

#include <fmt/format.h>

#include <string>

#include "tessera/core/error.hpp"

namespace tessera::detail {

namespace {
enum class ErrorKind : std::uint8_t { task = 0, other = 1 };
}  // namespace

void write_error(WireWriter& out, std::exception_ptr error, int rank) {
  ErrorKind kind = ErrorKind::other;
  std::string task, message;
  try {
    std::rethrow_exception(error);
  } catch (const task_error& e) {
    kind = ErrorKind::task;
    task = e.task();
    message = e.what_original();
    if (e.rank() >= 0) rank = e.rank();  // else: raised where the rank was not known
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
    message = "unknown exception (not derived from std::exception)";
  }
  out.put<std::uint8_t>(static_cast<std::uint8_t>(kind));
  out.put<std::int32_t>(rank);
  out.write(task);
  out.write(message);
}

std::exception_ptr read_error(WireReader& in) {
  const auto kind = static_cast<ErrorKind>(in.get<std::uint8_t>());
  const int rank = in.get<std::int32_t>();
  std::string task = in.read<std::string>();
  std::string message = in.read<std::string>();
  if (kind == ErrorKind::task) {
    return std::make_exception_ptr(task_error(std::move(task), std::move(message), rank));
  }
  return std::make_exception_ptr(error(fmt::format("rank {} failed: {}", rank, message)));
}

}  // namespace tessera::detail
