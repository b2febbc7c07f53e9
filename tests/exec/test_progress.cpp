// The progress bar's line and drawing (tessera/exec/progress.hpp) and the choice of whether to
// draw it; the reports themselves are tested across ranks in mpi_test_progress.cpp.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tessera/core/error.hpp"
#include "tessera/exec/progress.hpp"

namespace tessera {
namespace {

TEST(ProgressBar, LineShowsTasksBytesRateAndTimeLeft) {
  Progress p{.tasks_done = 25, .tasks_total = 100, .bytes_read = 3u << 20, .elapsed_s = 2.0};
  EXPECT_EQ(ProgressBar::line(p, 8),
            "[##------]  25%  25/100 tasks  3.0 MiB read  1.5 MiB/s  0:02 / 0:06 left");
  p.bytes_moved = 5u << 20;
  EXPECT_EQ(ProgressBar::line(p, 8),
            "[##------]  25%  25/100 tasks  3.0 MiB read  1.5 MiB/s  5.0 MiB moved  0:02 / 0:06 "
            "left");
  p.bytes_read = 0;
  p.bytes_moved = 0;
  EXPECT_EQ(ProgressBar::line(p, 8), "[##------]  25%  25/100 tasks  12 tasks/s  0:02 / 0:06 left");
  p = {.tasks_done = 100, .tasks_total = 100, .elapsed_s = 3725, .finished = true};
  EXPECT_EQ(ProgressBar::line(p, 4), "[####] 100%  100/100 tasks  0 tasks/s  1:02:05 total");
  p = {.tasks_done = 0, .tasks_total = 0, .elapsed_s = 0};
  EXPECT_EQ(ProgressBar::line(p, 4), "[----]   0%  0/0 tasks  0:00");
}

std::string drawn(double delay, const std::vector<Progress>& reports) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  ProgressBar bar(out, delay);
  for (const auto& p : reports) bar(p);
  std::fclose(out);
  std::string s(buffer, size);
  std::free(buffer);
  return s;
}

TEST(ProgressBar, RedrawsOneLineAfterItsDelayAndEndsItAtTheEnd) {
  const std::vector<Progress> quick = {
      {.tasks_done = 1, .tasks_total = 2, .elapsed_s = 0.1},
      {.tasks_done = 2, .tasks_total = 2, .elapsed_s = 0.2, .finished = true}};
  EXPECT_EQ(drawn(0.5, quick), "");  // a short compute draws nothing
  const std::string s = drawn(0.0, quick);
  EXPECT_EQ(std::count(s.begin(), s.end(), '\r'), 2);
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1);
  EXPECT_EQ(s.back(), '\n');
  EXPECT_THAT(s, ::testing::HasSubstr("100%  2/2 tasks"));
}

TEST(ProgressBar, DelayFollowsTheModeAndTesseraProgress) {
  ::unsetenv("TESSERA_PROGRESS");
  EXPECT_EQ(progress_bar_delay(ProgressMode::always), 0.0);
  EXPECT_EQ(progress_bar_delay(ProgressMode::never), std::nullopt);
  ::setenv("TESSERA_PROGRESS", "1", 1);
  EXPECT_EQ(progress_bar_delay(ProgressMode::automatic), 0.0);
  EXPECT_EQ(progress_bar_delay(ProgressMode::never), std::nullopt);
  ::setenv("TESSERA_PROGRESS", "off", 1);
  EXPECT_EQ(progress_bar_delay(ProgressMode::automatic), std::nullopt);
  ::setenv("TESSERA_PROGRESS", "sometimes", 1);
  EXPECT_THROW(progress_bar_delay(ProgressMode::automatic), value_error);
  ::unsetenv("TESSERA_PROGRESS");
}

}  // namespace
}  // namespace tessera
