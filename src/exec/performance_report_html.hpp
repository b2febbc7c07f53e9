#pragma once
/// @file
/// The performance report (tessera/exec/performance_report.hpp) as one self-contained HTML
/// page: summary tables and SVG charts written here, the task stream drawn on a canvas by a
/// small script from the recording's tasks embedded as JSON. No network access: no fonts,
/// scripts or styles from elsewhere.

#include <string>

#include "exec/trace.hpp"

namespace tessera::detail::trace {

std::string performance_report_html(const Recording& recording);

/// At most this many tasks go into the task stream (the longest ones, beyond it); the tables
/// count them all.
inline constexpr std::size_t kReportStreamTasks = 200'000;

}  // namespace tessera::detail::trace
