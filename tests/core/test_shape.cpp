// Tests of core/shape.hpp (NumPy semantics: printing, sizes, strides, broadcasting, axis
// normalisation) and of the error hierarchy in core/error.hpp that its errors belong to.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/core/shape.hpp"

namespace tessera {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(ShapeString, PrintsLikeNumpy) {
  EXPECT_EQ(shape_string({3, 4}), "(3, 4)");
  EXPECT_EQ(shape_string({5}), "(5,)");
  EXPECT_EQ(shape_string({}), "()");
  EXPECT_EQ(shape_string({0}), "(0,)");
  EXPECT_EQ(shape_string({2, 0, 7}), "(2, 0, 7)");
  EXPECT_EQ(shape_string({10000000000}), "(10000000000,)");
}

TEST(ShapeSize, ProductOfExtents) {
  EXPECT_EQ(shape_size({}), 1);  // a 0-d array holds one element
  EXPECT_EQ(shape_size({7}), 7);
  EXPECT_EQ(shape_size({3, 4, 5}), 60);
  EXPECT_EQ(shape_size({3, 0, 5}), 0);
  EXPECT_EQ(shape_size({100000, 100000}), 10000000000);  // needs 64 bits
}

TEST(RowMajorStrides, InElements) {
  EXPECT_EQ(row_major_strides({}), Shape{});
  EXPECT_EQ(row_major_strides({7}), Shape{1});
  EXPECT_EQ(row_major_strides({3, 4, 5}), (Shape{20, 5, 1}));
  EXPECT_EQ(row_major_strides({2, 0, 3}), (Shape{0, 3, 1}));
}

TEST(BroadcastShapes, NumpyRules) {
  struct Case {
    Shape a, b, want;
  };
  const Case cases[] = {
      {{}, {}, {}},
      {{}, {3, 4}, {3, 4}},
      {{3, 4}, {4}, {3, 4}},
      {{3, 1}, {1, 4}, {3, 4}},
      {{5, 1, 4}, {3, 1}, {5, 3, 4}},
      {{1}, {0}, {0}},
      {{2, 1}, {2, 0}, {2, 0}},
      {{8, 1, 6, 1}, {7, 1, 5}, {8, 7, 6, 5}},  // NumPy's documentation example
      {{1, 1, 1}, {1}, {1, 1, 1}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(broadcast_shapes(c.a, c.b), c.want)
        << shape_string(c.a) << " with " << shape_string(c.b);
    EXPECT_EQ(broadcast_shapes(c.b, c.a), c.want)
        << shape_string(c.b) << " with " << shape_string(c.a);
  }
}

TEST(BroadcastShapes, MismatchThrowsShapeErrorNamingBothShapes) {
  const std::pair<Shape, Shape> bad[] = {
      {{3, 4}, {3}}, {{2, 3}, {3, 2}}, {{0}, {2}}, {{4}, {5, 3}}};
  for (const auto& [a, b] : bad) {
    try {
      (void)broadcast_shapes(a, b);
      ADD_FAILURE() << "no error for " << shape_string(a) << " with " << shape_string(b);
    } catch (const shape_error& e) {
      EXPECT_THAT(e.what(), AllOf(HasSubstr(shape_string(a)), HasSubstr(shape_string(b))));
    }
  }
}

TEST(NormalizeAxis, NegativeCountsFromTheEnd) {
  EXPECT_EQ(normalize_axis(0, 3), 0);
  EXPECT_EQ(normalize_axis(2, 3), 2);
  EXPECT_EQ(normalize_axis(-1, 3), 2);
  EXPECT_EQ(normalize_axis(-3, 3), 0);
  EXPECT_EQ(normalize_axis(-1, 1), 0);
}

TEST(NormalizeAxis, OutOfRangeThrowsIndexErrorNamingAxisAndNdim) {
  const std::pair<int, int> bad[] = {{3, 3}, {-4, 3}, {0, 0}, {-1, 0}, {100, 2}};
  for (const auto& [axis, ndim] : bad) {
    try {
      (void)normalize_axis(axis, ndim);
      ADD_FAILURE() << "no error for axis " << axis << " of " << ndim;
    } catch (const index_error& e) {
      EXPECT_THAT(e.what(), AllOf(HasSubstr("axis " + std::to_string(axis)),
                                  HasSubstr("dimension " + std::to_string(ndim))));
    }
  }
}

TEST(NormalizeAxes, ResolvesAndSorts) {
  EXPECT_EQ(normalize_axes({2, 0}, 3), (std::vector<int>{0, 2}));
  EXPECT_EQ(normalize_axes({-1, 0}, 3), (std::vector<int>{0, 2}));
  EXPECT_EQ(normalize_axes({-1}, 1), (std::vector<int>{0}));
  EXPECT_EQ(normalize_axes({1, -3, -1}, 3), (std::vector<int>{0, 1, 2}));
}

TEST(NormalizeAxes, EmptyMeansNoAxis) {
  // NumPy's axis=() reduces nothing; "every axis" is the caller's default, not an empty list.
  EXPECT_EQ(normalize_axes({}, 3), std::vector<int>{});
  EXPECT_EQ(normalize_axes({}, 0), std::vector<int>{});
}

TEST(NormalizeAxes, OutOfRangeThrowsIndexError) {
  try {
    (void)normalize_axes({0, 3}, 2);
    ADD_FAILURE() << "no error";
  } catch (const index_error& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("axis 3"), HasSubstr("dimension 2")));
  }
  EXPECT_THROW((void)normalize_axes({-3}, 2), index_error);
}

TEST(NormalizeAxes, RepeatedAxisThrowsIndexErrorListingTheAxes) {
  // 1 and -2 are the same axis of a 3-d array: repeated after normalisation.
  try {
    (void)normalize_axes({1, -2}, 3);
    ADD_FAILURE() << "no error";
  } catch (const index_error& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("repeated"), HasSubstr("(1, -2)")));
  }
  EXPECT_THROW((void)normalize_axes({0, 0}, 1), index_error);
}

TEST(Errors, EveryLeafIsATesseraErrorAndARuntimeError) {
  static_assert(std::is_base_of_v<std::runtime_error, error>);
  static_assert(std::is_base_of_v<error, shape_error>);
  static_assert(std::is_base_of_v<error, index_error>);
  static_assert(std::is_base_of_v<error, dtype_error>);
  static_assert(std::is_base_of_v<error, value_error>);
  static_assert(std::is_base_of_v<error, graph_error>);
  static_assert(std::is_base_of_v<error, task_error>);
  static_assert(std::is_base_of_v<error, memory_error>);
  static_assert(std::is_base_of_v<error, io_error>);
  EXPECT_THROW((void)broadcast_shapes({2}, {3}), error);
  EXPECT_THROW((void)normalize_axis(5, 1), std::runtime_error);
}

TEST(Errors, TaskErrorKeepsTaskAndOriginalMessage) {
  const task_error e("('add-3fa2c1de', 0, 1)", "division by zero");
  EXPECT_EQ(e.task(), "('add-3fa2c1de', 0, 1)");
  EXPECT_EQ(e.what_original(), "division by zero");
  EXPECT_THAT(e.what(), AllOf(HasSubstr("('add-3fa2c1de', 0, 1)"), HasSubstr("division by zero")));
}

TEST(Errors, IoErrorIsCaughtAsATesseraErrorWithItsMessage) {
  const std::string message = "cannot open 'run/out.h5' for reading: No such file or directory";
  try {
    throw io_error(message);
  } catch (const error& e) {
    EXPECT_NE(dynamic_cast<const io_error*>(&e), nullptr);
    EXPECT_EQ(std::string(e.what()), message);
    return;
  }
  ADD_FAILURE() << "io_error was not caught as tessera::error";
}

}  // namespace
}  // namespace tessera
