#include "tessera/graph/visualize.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "tessera/core/error.hpp"

namespace tessera {

namespace {

namespace fs = std::filesystem;

/// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one. Graphviz
/// reads UTF-8 and warns (or draws garbage) on anything else; labels are arbitrary bytes.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80           ? 1
                  : (c >> 5) == 0x6  ? 2
                  : (c >> 4) == 0xe  ? 3
                  : (c >> 3) == 0x1e ? 4
                                     : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return 0;
  }
  return n;
}

/// `text` as the inside of a DOT double-quoted string. DOT itself only escapes `"`, but labels
/// give backslashes a meaning (`\n`, `\N`, `\G`, ...), so a literal backslash is doubled too;
/// a newline becomes a centred line break; other control bytes and invalid UTF-8 become '?'.
std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
      ++i;
    } else if (c == '\n') {
      out += "\\n";
      ++i;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += '?';
      ++i;
    } else if (const std::size_t n = utf8_length(text, i); n > 0) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

/// `text` as a DOT quoted string. (Built by appending: GCC 12 warns falsely, -Wrestrict, about
/// `"\"" + std::string`.)
std::string dot_string(std::string_view text) {
  std::string out = escape(text);
  out.insert(out.begin(), '"');
  out += '"';
  return out;
}

void check_rankdir(const std::string& rankdir) {
  constexpr std::array<std::string_view, 4> valid{"TB", "LR", "BT", "RL"};
  if (std::find(valid.begin(), valid.end(), rankdir) == valid.end()) {
    throw value_error(
        fmt::format("visualize: rankdir must be \"TB\", \"LR\", \"BT\" or \"RL\", not \"{}\"",
                    escape(rankdir)));
  }
}

/// Pastel fills (ColorBrewer Set3, less its darkest grey), light enough for black text.
constexpr std::array<std::string_view, 11> palette{"#8dd3c7", "#ffffb3", "#bebada", "#fb8072",
                                                   "#80b1d3", "#fdb462", "#b3de69", "#fccde5",
                                                   "#bc80bd", "#ccebc5", "#ffed6f"};

// --- writing files ------------------------------------------------------------------------------

/// The errno message, for error texts.
std::string errno_text(int err) { return std::strerror(err); }

/// A file created next to the target and removed unless released: what makes the target
/// appear complete or not at all.
class TempFile {
 public:
  /// Creates a fresh file "<target>.tmp-<pid>-<n><suffix>" (mode 0666 less the umask, so the
  /// renamed file gets the permissions a plain write would have given it).
  TempFile(const fs::path& target, std::string_view suffix) {
    static std::atomic<unsigned> counter{0};
    for (int attempt = 0;; ++attempt) {
      m_path = target;
      m_path += fmt::format(".tmp-{}-{}{}", ::getpid(), counter.fetch_add(1), suffix);
      m_fd = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (m_fd >= 0) return;
      if (errno != EEXIST || attempt > 100) {
        throw error(
            fmt::format("visualize: cannot write '{}': {}", target.string(), errno_text(errno)));
      }
    }
  }
  ~TempFile() {
    if (m_fd >= 0) ::close(m_fd);
    if (!m_released) {
      std::error_code ignored;
      fs::remove(m_path, ignored);
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const fs::path& path() const noexcept { return m_path; }

  void write(std::string_view text) {
    while (!text.empty()) {
      const ssize_t n = ::write(m_fd, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        throw error(
            fmt::format("visualize: cannot write '{}': {}", m_path.string(), errno_text(errno)));
      }
      text.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  /// Closes the file; an error here (a full disk, a network file system) is a failed write.
  void close() {
    if (m_fd < 0) return;
    const int rc = ::close(m_fd);
    m_fd = -1;
    if (rc != 0) {
      throw error(
          fmt::format("visualize: cannot write '{}': {}", m_path.string(), errno_text(errno)));
    }
  }

  /// Renames the file to `target`; from then on it is no longer temporary.
  void commit(const fs::path& target) {
    close();
    std::error_code ec;
    fs::rename(m_path, target, ec);
    if (ec) {
      throw error(fmt::format("visualize: cannot write '{}': {}", target.string(), ec.message()));
    }
    m_released = true;
  }

 private:
  fs::path m_path;
  int m_fd = -1;
  bool m_released = false;
};

/// The first executable `name` in the folders of $PATH (an empty entry is the current folder,
/// as for the shell); empty when there is none.
std::string find_on_path(std::string_view name) {
  const char* env = std::getenv("PATH");
  const std::string path = env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= path.size()) {
    std::size_t end = path.find(':', begin);
    if (end == std::string::npos) end = path.size();
    const std::string dir = end > begin ? path.substr(begin, end - begin) : ".";
    const std::string candidate = dir + "/" + std::string(name);
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    begin = end + 1;
  }
  return {};
}

/// Runs `argv` with stdin and stdout on /dev/null; returns its exit status (or -signal) and
/// leaves what it wrote to stderr in `err`. posix_spawn, not fork: the caller may be an MPI
/// process with worker threads.
int run_process(const std::vector<std::string>& argv, std::string& err) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw error(fmt::format("visualize: cannot run {}: {}", argv[0], errno_text(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    throw error(fmt::format("visualize: cannot run {}: {}", argv[0], errno_text(rc)));
  }
  // Read until the child closes stderr (it exits), then reap it: the pipe never fills up.
  std::array<char, 4096> buffer;
  for (;;) {
    const ssize_t n = ::read(pipe_fds[0], buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    err.append(buffer.data(), static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      throw error(fmt::format("visualize: waiting for {}: {}", argv[0], errno_text(errno)));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? -WTERMSIG(status) : -1;
}

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

}  // namespace

namespace {
/// A label without its token segments (exactly 8 lowercase hex digits between dashes).
std::string operation_of(std::string_view label) {
  std::string out;
  std::size_t start = 0;
  while (start <= label.size()) {
    const std::size_t end = std::min(label.find('-', start), label.size());
    const std::string_view part = label.substr(start, end - start);
    const bool token =
        part.size() == 8 && part.find_first_not_of("0123456789abcdef") == std::string_view::npos;
    if (!token) {
      if (!out.empty()) out += '-';
      out += part;
    }
    start = end + 1;
  }
  return out;
}
}  // namespace

std::string to_dot(const TaskGraph& graph, const VisualizeOptions& options) {
  check_rankdir(options.rankdir);
  std::string out;
  out.reserve(64 * graph.size() + 256);
  out += fmt::format("digraph {} {{\n", dot_string(options.name));
  out += fmt::format("  graph [rankdir={}", dot_string(options.rankdir));
  if (!options.title.empty())
    out += fmt::format(", label={}, labelloc=\"t\", fontsize=16", dot_string(options.title));
  out += ", fontname=\"Helvetica\"];\n";
  out += "  node [fontname=\"Helvetica\", fontsize=10, style=\"filled\", fillcolor=\"white\"];\n";
  out += "  edge [arrowsize=0.7];\n";
  // Colours follow operations (labels without their 8-hex-digit tokens: "sum-3fa2c1de-partial"
  // -> "sum-partial"), so that all the calls of one function or all the partials of one
  // reduction share a colour; in order of first appearance, so a graph is always drawn alike.
  std::unordered_map<std::string, std::size_t> colour_of;
  for (TaskId id = 0; static_cast<std::size_t>(id) < graph.size(); ++id) {
    const bool value = !graph.fn(id);
    out += fmt::format("  t{} [label={}, shape={}", id, dot_string(graph.name(id)),
                       value ? "box" : "ellipse");
    if (options.color) {
      const auto [it, added] =
          colour_of.try_emplace(operation_of(graph.label(id)), colour_of.size());
      out += fmt::format(", fillcolor=\"{}\"", palette[it->second % palette.size()]);
    }
    std::string tooltip = fmt::format("task {}", id);
    if (const int rank = graph.pinned_rank(id); rank >= 0)
      tooltip += fmt::format(", pinned to rank {}", rank);
    out += fmt::format(", tooltip={}];\n", dot_string(tooltip));
  }
  for (TaskId id = 0; static_cast<std::size_t>(id) < graph.size(); ++id) {
    for (TaskId dep : graph.deps(id)) out += fmt::format("  t{} -> t{};\n", dep, id);
  }
  out += "}\n";
  return out;
}

void visualize(const TaskGraph& graph, const std::string& filename,
               const VisualizeOptions& options) {
  const fs::path target(filename);
  std::string ext = target.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const bool text = ext == ".dot" || ext == ".gv";
  const bool rendered = ext == ".svg" || ext == ".png" || ext == ".pdf";
  if (!text && !rendered) {
    throw value_error(fmt::format(
        "visualize: {} in '{}'; write .dot, .gv, .svg, .png or .pdf",
        ext.empty() ? std::string("no file extension") : fmt::format("unknown extension '{}'", ext),
        filename));
  }
  const std::string dot = to_dot(graph, options);
  if (text) {
    TempFile out(target, "");
    out.write(dot);
    out.commit(target);
    return;
  }
  const std::string dot_program = find_on_path("dot");
  if (dot_program.empty()) {
    throw error(
        "visualize: Graphviz's `dot` was not found on PATH; install graphviz "
        "(scripts/install-deps does) or write a .dot file");
  }
  TempFile input(target, ".dot");
  input.write(dot);
  input.close();
  TempFile out(target, "");
  out.close();  // dot writes it by name; created here so that the name is ours alone
  const std::string format = "-T" + ext.substr(1);
  std::string err;
  const int status =
      run_process({dot_program, format, "-o", out.path().string(), input.path().string()}, err);
  if (status != 0) {
    throw error(fmt::format("visualize: `dot {}` failed to write '{}' ({}): {}", format, filename,
                            status > 0 ? fmt::format("exit status {}", status)
                                       : fmt::format("killed by signal {}", -status),
                            err.empty() ? "no message" : trimmed(err)));
  }
  out.commit(target);
}

}  // namespace tessera
