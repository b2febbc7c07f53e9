#include "io/collective.hpp"

#include <cstring>

#include "tessera/core/error.hpp"

namespace tessera::detail {

namespace {

enum class Status : char {
  ok = 'o',
  io = 'i',
  value = 'v',
  dtype = 'd',
  shape = 's',
  index = 'x',
  memory = 'm',
  task = 't',
  other = 'e'
};

/// One byte of status, then the payload (a result or an error's message).
std::string encode(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const io_error& x) {
    return static_cast<char>(Status::io) + std::string(x.what());
  } catch (const value_error& x) {
    return static_cast<char>(Status::value) + std::string(x.what());
  } catch (const dtype_error& x) {
    return static_cast<char>(Status::dtype) + std::string(x.what());
  } catch (const shape_error& x) {
    return static_cast<char>(Status::shape) + std::string(x.what());
  } catch (const index_error& x) {
    return static_cast<char>(Status::index) + std::string(x.what());
  } catch (const memory_error& x) {
    return static_cast<char>(Status::memory) + std::string(x.what());
  } catch (const task_error& x) {
    // A run's error is raised on every rank already; keep its message as it is.
    return static_cast<char>(Status::task) + std::string(x.what());
  } catch (const std::exception& x) {
    return static_cast<char>(Status::other) + std::string(x.what());
  } catch (...) {
    return static_cast<char>(Status::other) + std::string("unknown exception");
  }
}

[[noreturn]] void raise(Status s, const std::string& message) {
  switch (s) {
    case Status::io:
      throw io_error(message);
    case Status::value:
      throw value_error(message);
    case Status::dtype:
      throw dtype_error(message);
    case Status::shape:
      throw shape_error(message);
    case Status::index:
      throw index_error(message);
    case Status::memory:
      throw memory_error(message);
    default:
      throw error(message);
  }
}

std::vector<std::string> gather_strings(Scheduler& s, const std::string& mine) {
  auto bytes = s.allgather(std::as_bytes(std::span(mine.data(), mine.size())));
  std::vector<std::string> out;
  for (const auto& b : bytes) out.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
  return out;
}

}  // namespace

std::string query_on_root(Scheduler& s, const std::function<std::string()>& query) {
  std::string mine;
  if (s.rank() == 0) {
    try {
      mine = static_cast<char>(Status::ok) + query();
    } catch (...) {
      mine = encode(std::current_exception());
    }
  }
  if (s.num_ranks() == 1) {
    if (static_cast<Status>(mine[0]) != Status::ok)
      raise(static_cast<Status>(mine[0]), mine.substr(1));
    return mine.substr(1);
  }
  const std::string root = gather_strings(s, mine)[0];
  if (static_cast<Status>(root[0]) != Status::ok)
    raise(static_cast<Status>(root[0]), root.substr(1));
  return root.substr(1);
}

void agree(Scheduler& s, std::exception_ptr mine) {
  if (s.num_ranks() == 1) {
    if (mine) std::rethrow_exception(mine);
    return;
  }
  const auto all =
      gather_strings(s, mine ? encode(mine) : std::string(1, static_cast<char>(Status::ok)));
  for (std::size_t r = 0; r < all.size(); ++r) {
    const auto st = static_cast<Status>(all[r][0]);
    if (st == Status::ok) continue;
    // This rank's own error keeps its type: the lowest failing rank's, or a run's task_error
    // (which every rank of the run raised alike).
    if (mine && (static_cast<int>(r) == s.rank() || st == Status::task))
      std::rethrow_exception(mine);
    raise(st, all[r].substr(1));
  }
}

}  // namespace tessera::detail
