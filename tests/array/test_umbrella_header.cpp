// What a program that includes only the umbrella header can do (issue 8, item 11): no test
// support header here, since it includes xtensor headers of its own.

#include <gtest/gtest.h>

// GCC 12 at -O3 reports a false -Wrestrict inside xtensor's float printer (xio.hpp's
// print_next, a std::string::insert) once it is inlined here; nothing of Tessera's.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

#include <sstream>

#include "tessera/tessera.hpp"

namespace tessera {
namespace {

TEST(UmbrellaHeader, PrintsComputedArrays) {
  std::ostringstream out;
  out << arange(0.0, 3.0, 1.0).compute<double>();
  EXPECT_EQ(out.str(), "{ 0.,  1.,  2.}");
}

TEST(UmbrellaHeader, CreationTakesTheDtypeInNumPysOrder) {
  const Array x = ones({3}, DType::Int32);
  EXPECT_EQ(x.dtype(), DType::Int32);
  EXPECT_EQ(x.sum().item<std::int64_t>(), 3);
  EXPECT_EQ(zeros({2, 2}, DType::Bool).dtype(), DType::Bool);
  EXPECT_EQ(full({2}, 7, DType::Int32).dtype(), DType::Int32);
  std::ostringstream out;
  out << x.compute<std::int32_t>();
  EXPECT_EQ(out.str(), "{1, 1, 1}");
}

}  // namespace
}  // namespace tessera
