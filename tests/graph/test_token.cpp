// Tests of graph/token.hpp: tokens are deterministic (the same content gives the same token,
// wherever it lives in memory), sensitive (a change of value, order, type width or framing
// changes the token), short_token's format, and unique_token's uniqueness across threads.

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "tessera/graph/token.hpp"

namespace tessera {
namespace {

TEST(Tokenizer, Deterministic) {
  const auto make = [] {
    return Tokenizer()
        .add(std::int64_t{42})
        .add(2.5)
        .add(std::string_view("add"))
        .add_range(std::vector<std::int64_t>{1, 2, 3})
        .finish();
  };
  EXPECT_EQ(make(), make());
  EXPECT_EQ(Tokenizer().finish(), Tokenizer().finish());
}

TEST(Tokenizer, FinishIsRepeatableAndAddingContinues) {
  Tokenizer t;
  t.add(1);
  const Token first = t.finish();
  EXPECT_EQ(t.finish(), first);
  t.add(2);
  EXPECT_NE(t.finish(), first);
  EXPECT_EQ(t.finish(), Tokenizer().add(1).add(2).finish());
}

TEST(Tokenizer, DependsOnContentNotAddress) {
  std::vector<double> a{1.0, 2.0, 3.0};
  std::vector<double> b = a;  // another buffer, same values
  ASSERT_NE(a.data(), b.data());
  EXPECT_EQ(Tokenizer().add_range(a).finish(), Tokenizer().add_range(b).finish());
  std::string s1 = "sum-partial", s2 = std::string("sum-") + "partial";
  EXPECT_EQ(Tokenizer().add(s1).finish(), Tokenizer().add(s2).finish());
  EXPECT_EQ(Tokenizer().add(s1).finish(), Tokenizer().add(std::string_view(s2)).finish());
}

TEST(Tokenizer, SensitiveToEveryBitOfAValue) {
  std::unordered_set<Token> seen{Tokenizer().add(std::uint64_t{0}).finish()};
  for (int bit = 0; bit < 64; ++bit) {
    const Token t = Tokenizer().add(std::uint64_t{1} << bit).finish();
    EXPECT_TRUE(seen.insert(t).second) << "bit " << bit;
  }
}

TEST(Tokenizer, SensitiveToOrder) {
  EXPECT_NE(Tokenizer().add(1).add(2).finish(), Tokenizer().add(2).add(1).finish());
  EXPECT_NE(Tokenizer().add(std::string_view("a")).add(std::string_view("b")).finish(),
            Tokenizer().add(std::string_view("b")).add(std::string_view("a")).finish());
}

TEST(Tokenizer, SensitiveToWidth) {
  // The same number in 4 and 8 bytes is different content (int32 vs int64 parameters).
  EXPECT_NE(Tokenizer().add(std::int32_t{7}).finish(), Tokenizer().add(std::int64_t{7}).finish());
  EXPECT_NE(Tokenizer().add(1.0f).finish(), Tokenizer().add(1.0).finish());
}

TEST(Tokenizer, StringsAndRangesAreLengthPrefixed) {
  // Without a length prefix "ab"+"c" and "a"+"bc" would hash the same bytes.
  const auto two = [](std::string_view x, std::string_view y) {
    return Tokenizer().add(x).add(y).finish();
  };
  EXPECT_NE(two("ab", "c"), two("a", "bc"));
  EXPECT_NE(two("", "abc"), two("abc", ""));
  EXPECT_NE(Tokenizer().add(std::string_view("")).finish(), Tokenizer().finish());
  using V = std::vector<std::int64_t>;
  EXPECT_NE(Tokenizer().add_range(V{1, 2}).add_range(V{3}).finish(),
            Tokenizer().add_range(V{1}).add_range(V{2, 3}).finish());
  EXPECT_NE(Tokenizer().add_range(V{}).finish(), Tokenizer().finish());
}

TEST(Tokenizer, RangeOfStringsHashesTheirContent) {
  const std::vector<std::string> a{"x", "yz"}, b{"x", "yz"}, c{"xy", "z"};
  EXPECT_EQ(Tokenizer().add_range(a).finish(), Tokenizer().add_range(b).finish());
  EXPECT_NE(Tokenizer().add_range(a).finish(), Tokenizer().add_range(c).finish());
}

TEST(Tokenizer, ManyDistinctInputsGiveDistinctTokens) {
  std::unordered_set<Token> seen;
  for (std::int64_t i = 0; i < 100000; ++i) seen.insert(Tokenizer().add(i).finish());
  EXPECT_EQ(seen.size(), 100000u);
}

// Known bug (graph/token.hpp): a C string is a trivially copyable pointer or array, so
// add(const char*) hashes the address and add("literal") hashes the array with its '\0', not
// the string. Equal names then get different tokens (the address differs between buffers, and
// between ranks under ASLR), and a literal hashes differently from the same std::string.
TEST(ContentHash, EveryByteAndTheLengthCount) {
  // from_buffer's chunks and graph literals are hashed with it: ranks whose data differ in
  // any one bit must get different tokens (the 32-byte lanes, and the tail after them).
  std::vector<unsigned char> data(100);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<unsigned char>(i * 7);
  const Token base = content_hash(data.data(), data.size());
  EXPECT_EQ(content_hash(data.data(), data.size()), base);
  std::unordered_set<Token> seen{base};
  for (std::size_t i = 0; i < data.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      data[i] ^= static_cast<unsigned char>(1 << bit);
      EXPECT_TRUE(seen.insert(content_hash(data.data(), data.size())).second) << i << " " << bit;
      data[i] ^= static_cast<unsigned char>(1 << bit);
    }
  }
  EXPECT_NE(content_hash(data.data(), 64), content_hash(data.data(), 65));
  const std::vector<unsigned char> zeros(64, 0);
  EXPECT_NE(content_hash(zeros.data(), 32), content_hash(zeros.data(), 64));
  EXPECT_NE(content_hash(zeros.data(), 0), content_hash(zeros.data(), 1));
}

TEST(Tokenizer, CStringsHashTheirCharacters) {
  char buffer1[] = "float64";
  char buffer2[] = "float64";
  const char* p1 = buffer1;
  const char* p2 = buffer2;
  ASSERT_NE(static_cast<const void*>(p1), static_cast<const void*>(p2));
  EXPECT_EQ(Tokenizer().add(p1).finish(), Tokenizer().add(p2).finish());
  EXPECT_EQ(Tokenizer().add("float64").finish(),
            Tokenizer().add(std::string_view("float64")).finish());
  EXPECT_EQ(Tokenizer().add(p1).finish(), Tokenizer().add(std::string("float64")).finish());
}

TEST(ShortToken, FirstEightHexDigits) {
  EXPECT_EQ(short_token(0x3fa2c1de12345678ULL), "3fa2c1de");
  EXPECT_EQ(short_token(0), "00000000");
  EXPECT_EQ(short_token(0x00000001ffffffffULL), "00000001");  // zero-padded
  EXPECT_EQ(short_token(~Token{0}), "ffffffff");
  EXPECT_EQ(short_token(0xABCDEF0000000000ULL), "abcdef00");  // lower case
}

TEST(ShortToken, AlwaysEightLowerCaseHexCharacters) {
  for (std::int64_t i = 0; i < 1000; ++i) {
    const std::string s = short_token(Tokenizer().add(i).finish());
    ASSERT_EQ(s.size(), 8u) << s;
    for (char ch : s) EXPECT_TRUE((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')) << s;
  }
}

TEST(UniqueToken, NeverRepeats) {
  std::unordered_set<Token> seen;
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(seen.insert(unique_token()).second) << i;
}

TEST(UniqueToken, DiffersFromContentTokensOfSmallIntegers) {
  // A unique token must not collide with what a content hash of a counter would give.
  const Token u = unique_token();
  for (std::uint64_t i = 0; i < 100000; ++i) ASSERT_NE(u, Tokenizer().add(i).finish());
}

// Expressions may be built from several threads; the counter must not hand out duplicates.
class UniqueTokenThreads : public ::testing::TestWithParam<int> {};

TEST_P(UniqueTokenThreads, NeverRepeatsAcrossThreads) {
  const int threads = GetParam();
  constexpr int per_thread = 20000;
  std::vector<std::vector<Token>> got(static_cast<std::size_t>(threads));
  {
    std::vector<std::jthread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&out = got[static_cast<std::size_t>(t)]] {
        out.reserve(per_thread);
        for (int i = 0; i < per_thread; ++i) out.push_back(unique_token());
      });
    }
  }
  std::unordered_set<Token> seen;
  for (const auto& v : got) seen.insert(v.begin(), v.end());
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(threads) * per_thread);
}

INSTANTIATE_TEST_SUITE_P(Workers, UniqueTokenThreads, ::testing::Values(1, 2, 4),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return std::to_string(p.param) + "threads";
                         });

}  // namespace
}  // namespace tessera
