// Reduction statistics: NumPy-exact percentiles, order-statistic intervals, CVaR, moments.
#include "host/reduce/statistics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace caprisk {
namespace {

// Reference values from NumPy 1.24.2, np.percentile(a, q) with the default method, printed
// with repr() so that they are the exact doubles NumPy returns.
TEST(NumpyPercentile, MatchesNumpyBitForBitOnASmallSample) {
  std::vector<double> a = {3.5, 1.25, 0, 0, 7, 2.2, 9.9, 4.4, 1e-3, 5};
  std::sort(a.begin(), a.end());
  const std::vector<std::pair<double, double>> expected = {{0, 0.0},
                                                           {1, 0.0},
                                                           {5, 0.0},
                                                           {10, 0.0},
                                                           {25, 0.31325000000000003},
                                                           {33.3, 1.2462529999999998},
                                                           {50, 2.85},
                                                           {62.5, 4.0625},
                                                           {75, 4.85},
                                                           {90, 7.289999999999999},
                                                           {95, 8.594999999999997},
                                                           {99, 9.639000000000001},
                                                           {100, 9.9}};
  for (const auto& [q, value] : expected) EXPECT_EQ(numpy_percentile(a, q), value) << "q=" << q;
}

TEST(NumpyPercentile, MatchesNumpyBitForBitOnALargerSample) {
  std::vector<double> b;
  for (int i = 0; i < 1001; ++i) b.push_back(static_cast<double>(i * 7919 % 1000) / 7.0);
  std::sort(b.begin(), b.end());
  const std::vector<std::pair<double, double>> expected = {
      {1, 1.2857142857142858},  {5, 7.0},
      {10, 14.142857142857142}, {25, 35.57142857142857},
      {50, 71.28571428571429},  {75, 107.0},
      {90, 128.42857142857142}, {95, 135.57142857142858},
      {99, 141.28571428571428}, {2.5, 3.4285714285714284},
      {99.9, 142.5714285714286}};
  for (const auto& [q, value] : expected) EXPECT_EQ(numpy_percentile(b, q), value) << "q=" << q;
}

TEST(NumpyPercentile, UsesTheNearerEndOfTheInterpolationLikeNumpy) {
  // gamma >= 0.5 is evaluated from the upper neighbour in NumPy; the naive a + (b - a) g
  // gives different last bits for some of these.
  std::vector<double> c;
  for (int i = 0; i < 7; ++i) c.push_back(0.1 * i);
  EXPECT_EQ(numpy_percentile(c, 10), 0.06000000000000001);
  EXPECT_EQ(numpy_percentile(c, 30), 0.18);
  EXPECT_EQ(numpy_percentile(c, 70), 0.41999999999999993);
  EXPECT_EQ(numpy_percentile(c, 90), 0.54);
  EXPECT_EQ(numpy_percentile(c, 95), 0.57);
}

TEST(OrderStatisticRanks, FollowTheModelFormulaAndClip) {
  std::uint64_t low = 0, high = 0;
  // n = 1000, q = 0.5: 500 -+ 1.96 sqrt(250) = 500 -+ 30.99 -> floor 469, ceil 531.
  order_statistic_ranks(1000, 50, low, high);
  EXPECT_EQ(low, 469u);
  EXPECT_EQ(high, 531u);
  // n = 100, q = 0.99: 99 -+ 1.96 sqrt(0.99) = 99 -+ 1.950 -> 97, 100.95 -> clipped to 100.
  order_statistic_ranks(100, 99, low, high);
  EXPECT_EQ(low, 97u);
  EXPECT_EQ(high, 100u);
  // q = 0 gives rank 0 -> clipped to 1.
  order_statistic_ranks(10, 0, low, high);
  EXPECT_EQ(low, 1u);
  EXPECT_EQ(high, 1u);
}

TEST(Summarize, MomentsCvarAndShareAboveZero) {
  std::vector<double> values;
  for (int i = 0; i < 100; ++i) values.push_back(i < 40 ? 0.0 : static_cast<double>(i));
  std::vector<double> copy = values;
  const CellStatistics s = summarize(copy, {50, 95});
  double mean = 0;
  for (double v : values) mean += v;
  mean /= 100;
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  EXPECT_DOUBLE_EQ(s.mean, mean);
  EXPECT_DOUBLE_EQ(s.sd, std::sqrt(squares / 99));
  EXPECT_DOUBLE_EQ(s.p_positive, 0.6);
  // ceil(0.05 * 100) = 5 largest: 95..99.
  EXPECT_DOUBLE_EQ(s.cvar95, (95 + 96 + 97 + 98 + 99) / 5.0);
  EXPECT_GE(s.cvar95, s.percentiles[1].value);
  EXPECT_EQ(s.paths, 100u);
  EXPECT_DOUBLE_EQ(s.p50, s.percentiles[0].value);
  // The interval brackets the estimate.
  for (const auto& p : s.percentiles) {
    EXPECT_LE(p.ci_low, p.value);
    EXPECT_GE(p.ci_high, p.value);
  }
}

TEST(Summarize, CvarUsesCeilingOfFivePercent) {
  // n = 21: ceil(1.05) = 2 largest values.
  std::vector<double> values;
  for (int i = 1; i <= 21; ++i) values.push_back(i);
  EXPECT_DOUBLE_EQ(summarize(values, {50}).cvar95, 20.5);
}

TEST(Summarize, CvarIsNeverBelowP95WhenTheTailIsFlat) {
  // 200 tail values all equal to 1.2: a naive sum / 200 gives 1.2000000000000002 or less.
  std::vector<double> values(4000, 1.2);
  for (int i = 0; i < 3000; ++i) values[i] = 0.1 * (i % 7);
  const CellStatistics s = summarize(values, {95});
  EXPECT_EQ(s.cvar95, 1.2);
  EXPECT_GE(s.cvar95, s.percentiles[0].value);
}

// Exponential(1): the 95% tail is 1 + Exp(1) beyond q = ln 20 (memoryless), so CVaR95 =
// ln 20 + 1, the tail's variance is 1 and its mean excess 1: the interval's half-width is
// 1.96 sqrt((1 + 0.95) / (0.05 n)).
TEST(Summarize, CvarIntervalHasTheAsymptoticWidthOfAKnownTail) {
  const std::uint64_t n = 200000;
  std::vector<double> values(n);
  for (std::uint64_t i = 0; i < n; ++i)  // exact quantiles at midpoints: no sampling noise
    values[i] = -std::log(1.0 - (static_cast<double>(i) + 0.5) / static_cast<double>(n));
  const CellStatistics s = summarize(values, {95});
  const double half = 1.96 * std::sqrt(1.95 / (0.05 * static_cast<double>(n)));
  EXPECT_NEAR(s.cvar95, std::log(20.0) + 1.0, 1e-3);
  EXPECT_NEAR((s.cvar95_ci_high - s.cvar95_ci_low) / 2, half, 0.02 * half);
  EXPECT_NEAR(s.cvar95 - s.cvar95_ci_low, s.cvar95_ci_high - s.cvar95, 1e-12);
}

// Coverage: 400 samples of 4000 uniforms (true CVaR95 0.975). The share of intervals that
// hold it is 0.95 with a standard error of 0.011; accept 4 standard errors.
TEST(Summarize, CvarIntervalCoversTheTrueValueNinetyFivePercentOfTheTime) {
  std::uint64_t state = 12345;
  auto uniform = [&state] {  // splitmix64: a fixed, portable sequence
    state += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  };
  const int samples = 400;
  int covered = 0;
  for (int k = 0; k < samples; ++k) {
    std::vector<double> values(4000);
    for (double& v : values) v = uniform();
    const CellStatistics s = summarize(values, {95});
    covered += s.cvar95_ci_low <= 0.975 && 0.975 <= s.cvar95_ci_high ? 1 : 0;
  }
  const double share = static_cast<double>(covered) / samples;
  const double se = std::sqrt(0.95 * 0.05 / samples);
  ASSERT_LT(se, 0.012);
  EXPECT_NEAR(share, 0.95, 4 * se);
}

TEST(Summarize, SingleValue) {
  std::vector<double> values = {2.5};
  const CellStatistics s = summarize(values, {1, 50, 99});
  EXPECT_EQ(s.sd, 0.0);
  EXPECT_EQ(s.cvar95_ci_low, 2.5);
  EXPECT_EQ(s.cvar95_ci_high, 2.5);
  for (const auto& p : s.percentiles) {
    EXPECT_EQ(p.value, 2.5);
    EXPECT_EQ(p.ci_low, 2.5);
    EXPECT_EQ(p.ci_high, 2.5);
  }
}

}  // namespace
}  // namespace caprisk
