// Tests of kernels/distributions.h: each quantile function Q(u) against closed forms and
// reference values from SciPy 1.10.1 (Debian python3-scipy; scipy.stats.<dist>.ppf) printed
// with 17 significant digits. When generated, every SciPy value was also checked against
// mpmath 1.2.1 at 50 digits; where SciPy was off, the mpmath value is used and says so.
#include "kernels/distributions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace caprisk {
namespace {

// The streams' uniforms lie on the grid (k + 0.5) 2^-32, so these are the extreme ones.
constexpr double u_min = 0x1.0p-33;
constexpr double u_max = 1.0 - 0x1.0p-33;

// The u of every reference table: both grid extremes, the tails and the body.
constexpr double reference_u[] = {u_min, 1e-7, 0.001, 0.1, 0.5, 0.9, 0.999, 1 - 1e-7, u_max};
constexpr int u_count = sizeof(reference_u) / sizeof(reference_u[0]);

/// u moved by `ulps` units in the last place (negative: down).
double step_ulps(double u, int ulps) {
  for (int i = 0; i < std::abs(ulps); ++i) u = std::nextafter(u, ulps < 0 ? 0.0 : 1.0);
  return u;
}

/// Q(u) matches `want` to within what the rounding of u itself allows: `want` lies between Q
/// at u moved 4 ulps down and up, give or take 1e-12 of its distance from `anchor` (the lower
/// end, so values near it are checked relatively), a few ulps of its own and `absolute`.
void expect_quantile(const Distribution& d, double u, double want, double anchor, double absolute,
                     const std::string& name) {
  const double down = quantile(d, step_ulps(u, -4));
  const double up = quantile(d, step_ulps(u, 4));
  const double slack = 1e-12 * std::fabs(want - anchor) + 1e-15 * std::fabs(want) + absolute;
  EXPECT_GE(want, down - slack) << name << ", u = " << u << ", Q(u) = " << quantile(d, u);
  EXPECT_LE(want, up + slack) << name << ", u = " << u << ", Q(u) = " << quantile(d, u);
}

void expect_quantiles(const Distribution& d, const double (&want)[u_count], double anchor,
                      const std::string& name, double absolute = 0.0) {
  for (int i = 0; i < u_count; ++i)
    expect_quantile(d, reference_u[i], want[i], anchor, absolute, name);
}

/// A uniform double in (0, 1) from 53 random bits, the same on every standard library.
double open_uniform(std::mt19937_64& engine) {
  return (static_cast<double>(engine() >> 11) + 0.5) * 0x1.0p-53;
}

/// Mean and sd of Q(U) by the midpoint rule on n cells of (0, 1).
struct Moments {
  double mean;
  double sd;
};
Moments integrate_moments(const Distribution& d, int n) {
  double sum = 0.0, sum_squares = 0.0;
  for (int i = 0; i < n; ++i) {
    const double x = quantile(d, (i + 0.5) / n);
    sum += x;
    sum_squares += x * x;
  }
  const double mean = sum / n;
  return {mean, std::sqrt(sum_squares / n - mean * mean)};
}

/// Every kind, including the degenerate PERT / triangular shapes with the mode at an end.
std::vector<std::pair<std::string, Distribution>> all_kinds() {
  return {
      {"fixed", make_fixed(4.5)},
      {"uniform", make_uniform(2.0, 5.0)},
      {"normal", make_normal(-3.0, 0.5, -INFINITY, INFINITY)},
      {"normal [7, 15]", make_normal(10.0, 2.0, 7.0, 15.0)},
      {"normal [0, inf)", make_normal(100.0, 30.0, 0.0, INFINITY)},
      {"normal (-inf, -1]", make_normal(0.0, 1.0, -INFINITY, -1.0)},
      // 10 + 2 Phi^-1(Phi(-1.11185)) rounds below 7.7763 at u = 1e-300: Q must clamp.
      {"normal [7.7763, inf)", make_normal(10.0, 2.0, 7.7763, INFINITY)},
      {"lognormal", make_lognormal(std::log(50.0), 0.4)},
      {"triangular", make_triangular(1.0, 3.0, 10.0)},
      {"triangular mode = min", make_triangular(0.0, 0.0, 4.0)},
      {"triangular mode = max", make_triangular(0.0, 4.0, 4.0)},
      {"pert", make_pert(1.0, 3.0, 10.0)},
      {"pert mode = min", make_pert(0.0, 0.0, 4.0)},
      {"pert mode = max", make_pert(0.0, 4.0, 4.0)},
      {"beta", make_beta(0.5, 2.0)},
      {"beta mean sd", make_beta_mean_sd(0.3, 0.1)},
      {"beta mean sd skewed", make_beta_mean_sd(0.02, 0.1)},
      {"bernoulli", make_bernoulli(0.3)},
  };
}

// --- Reference values -----------------------------------------------------------------------

TEST(Quantile, FixedAndUniformClosedForms) {
  const Distribution fixed = make_fixed(4.5);
  const Distribution uniform = make_uniform(2.0, 5.0);
  for (double u : reference_u) {
    EXPECT_EQ(quantile(fixed, u), 4.5);
    EXPECT_DOUBLE_EQ(quantile(uniform, u), 2.0 + 3.0 * u);
  }
}

TEST(Quantile, NormalMatchesScipy) {
  // scipy.stats.norm.ppf(u, loc=-3, scale=0.5).
  const double want[u_count] = {
      -6.1689788772768948, -5.5996687910964082, -4.5451161530839066,  -3.6407757827723,   -3,
      -2.3592242172277,    -1.4548838469160934, -0.40033120885466955, 0.16897887727689476};
  expect_quantiles(make_normal(-3.0, 0.5, -INFINITY, INFINITY), want, 0.0, "normal");
}

TEST(Quantile, TruncatedNormalMatchesScipy) {
  // scipy.stats.truncnorm.ppf(u, -1.5, 2.5, loc=10, scale=2): mean 10, sd 2 on [7, 15].
  const double two_sided[u_count] = {7.0000000016664146, 7.0000014314389194, 7.0142382241464585,
                                     8.0070154936631965, 10.15204181623629,  12.57559790324837,
                                     14.900621516580639, 14.999989423081763, 14.999999987686772};
  expect_quantiles(make_normal(10.0, 2.0, 7.0, 15.0), two_sided, 7.0, "normal [7, 15]");
  // scipy.stats.truncnorm.ppf(u, -10/3, inf, loc=100, scale=30): mean 100, sd 30 on [0, inf).
  // SciPy is off by 1e-12 to 3e-9 at u = u_min, 1e-7, 1 - 1e-7 and u_max; those four are
  // mpmath's 100 + 30 Phi^-1(Phi(-10/3) + u (1 - Phi(-10/3))).
  const double one_sided[u_count] = {
      2.2635079309969868e-6, 0.0019441287585030369, 10.519268398785286,
      61.619370102101179,    100.01613242221822,    138.4538825500274,
      192.71079276704057,    255.98252070264635,    290.14071677559156};
  // Q = mean + sd z cancels to 2e-6 near the bound 0 at u_min, so there it is only good to
  // ulps of the mean (1.4e-14 each), not relative to the distance from the bound.
  expect_quantiles(make_normal(100.0, 30.0, 0.0, INFINITY), one_sided, 0.0, "normal [0, inf)",
                   1e-13);
}

TEST(Quantile, TruncatedNormalStaysWithinItsBounds) {
  const Distribution d = make_normal(10.0, 2.0, 7.0, 15.0);
  EXPECT_GE(quantile(d, u_min), 7.0);
  EXPECT_LE(quantile(d, u_max), 15.0);
  // Truncation far out on one side: the mass left is 1 - Phi(4) = 3e-5 of the normal's.
  const Distribution right = make_normal(0.0, 1.0, 4.0, INFINITY);
  EXPECT_GE(quantile(right, u_min), 4.0);
  EXPECT_LT(quantile(right, u_min), 4.0 + 1e-8);
  const Distribution left = make_normal(0.0, 1.0, -INFINITY, -4.0);
  EXPECT_LE(quantile(left, u_max), -4.0);
  EXPECT_GT(quantile(left, u_max), -4.0 - 1e-8);
  EXPECT_EQ(quantile(left, 0.5), -quantile(right, 0.5));
}

TEST(Quantile, LognormalMatchesScipy) {
  // scipy.stats.lognorm.ppf(u, 0.4, scale=50): mu = ln 50, sigma = 0.4.
  const double want[u_count] = {
      3.9623603814075898, 6.2481659491689854, 14.525853807833,  29.946198228046722, 50,
      83.483051202759157, 172.10692280627842, 400.117413723678, 630.93705755050462};
  expect_quantiles(make_lognormal(std::log(50.0), 0.4), want, 0.0, "lognormal");
}

TEST(Quantile, LognormalFromMedianAndP90) {
  // The config's parametrization: mu = ln median, sigma = (ln p90 - mu) / z_0.9.
  const double median = 120.0, p90 = 310.0;
  const double mu = std::log(median);
  const double sigma = (std::log(p90) - mu) / 1.2815515655446004;
  const Distribution d = make_lognormal(mu, sigma);
  EXPECT_NEAR(quantile(d, 0.5), median, 1e-13 * median);
  EXPECT_NEAR(quantile(d, 0.9), p90, 1e-13 * p90);
}

TEST(Quantile, TriangularMatchesScipy) {
  // scipy.stats.triang.ppf(u, 2/9, loc=1, scale=9): min 1, mode 3, max 10.
  const double want[u_count] = {1.0000457763671875, 1.0013416407864999, 1.1341640786499874,
                                2.3416407864998741, 4.3875139198390887, 7.4900199203977733,
                                9.7490019920397781, 9.9974900199210577, 9.9999143602587868};
  expect_quantiles(make_triangular(1.0, 3.0, 10.0), want, 1.0, "triangular");
}

TEST(Quantile, TriangularWithTheModeAtAnEnd) {
  // Mode at min: Q(u) = max - (max - min) sqrt(1 - u); at max: min + (max - min) sqrt(u).
  const Distribution low = make_triangular(0.0, 0.0, 4.0);
  const Distribution high = make_triangular(0.0, 4.0, 4.0);
  for (double u : reference_u) {
    EXPECT_NEAR(quantile(low, u), 4.0 - 4.0 * std::sqrt(1.0 - u), 1e-15) << u;
    EXPECT_NEAR(quantile(high, u), 4.0 * std::sqrt(u), 1e-15) << u;
  }
}

TEST(Quantile, PertMatchesScipy) {
  // scipy.stats.beta.ppf(u, 1 + 4 * 2/9, 1 + 4 * 7/9, loc=1, scale=9): PERT(1, 3, 10).
  const double pert[u_count] = {1.000014967300251,  1.0005351299403296, 1.0707558244301474,
                                1.8965595762306564, 3.6385327766086979, 6.064204993802897,
                                8.8021057286278825, 9.8753012439951586, 9.9759376149209658};
  expect_quantiles(make_pert(1.0, 3.0, 10.0), pert, 1.0, "pert");
  // scipy.stats.beta.ppf(u, 1, 5, loc=0, scale=4): PERT(0, 0, 4), the mode at min.
  const double low[u_count] = {
      9.3132257465884661e-11, 8.0000003200000188e-08, 0.00080032019213450219,
      0.083406550556092834,   0.51779774681550339,    1.476170622079227,
      2.9952454273961679,     3.8407571317953648,     3.9587653777883469};
  expect_quantiles(make_pert(0.0, 0.0, 4.0), low, 0.0, "pert mode = min");
}

TEST(Quantile, BetaMatchesScipy) {
  // scipy.stats.beta.ppf(u, 0.5, 2); SciPy 1.10.1 fails at u = u_min (Boost root finding
  // gives up and returns 2.86e-25), so that one is the root of I = 1.5 s - 0.5 s^3, s^2 = x,
  // solved with mpmath.
  const double beta[u_count] = {
      6.0233454026972469e-21, 4.444444444444459e-15, 4.4444457613175582e-07,
      0.0044576818876213764,  0.12061475842818319,   0.53187743347358052,
      0.94880805528416867,    0.99948364666843348,   0.99998238071979484};
  expect_quantiles(make_beta(0.5, 2.0), beta, 0.0, "beta(0.5, 2)");
  // scipy.stats.beta.ppf(u, 6, 14): make_beta_mean_sd(0.3, 0.1) has a = 6, b = 14.
  const double mean_sd[u_count] = {
      0.0040616413330371607, 0.012727016859751411, 0.065289996392219829,
      0.17513074469061179,   0.29322017994366456,  0.43404798100214492,
      0.63781624479705812,   0.82750276782072529,  0.896292452404853};
  expect_quantiles(make_beta_mean_sd(0.3, 0.1), mean_sd, 0.0, "beta mean 0.3 sd 0.1");
}

// --- Shape of Q -----------------------------------------------------------------------------

TEST(Quantile, BetaTableGuessIsCloseAndLeavesTheRootUnchanged) {
  // The knot table only chooses where the inversion starts: between the outer knots its cubic
  // guess must be close (that is what saves the iterations), and the quantile must be the
  // analytic start's root to within rounding.
  const double shapes[][2] = {{3, 3},     {1, 5},   {5, 1},   {1.8, 3.2}, {4.9, 1.1},
                              {0.5, 2.0}, {2, 0.5}, {30, 40}, {1, 1},     {1.0001, 4.9999}};
  for (const auto& shape : shapes) {
    const Distribution d = make_beta(shape[0], shape[1]);
    ASSERT_GT(d.table[0], 0.0) << shape[0] << ", " << shape[1];
    double worst_guess = 0, worst_root = 0;
    for (int i = 1; i < 20000; ++i) {
      const double u = i / 20000.0;
      const double reference =
          incomplete_beta_inverse(u, d.param[2], d.param[3], d.param[4]);  // analytic start
      const double guess = beta_table_guess(d, u);
      if (u >= 1.0 / beta_table_steps && u < 1.0 - 1.0 / beta_table_steps) {
        ASSERT_GT(guess, 0.0) << u;
        worst_guess = std::max(worst_guess, std::fabs(guess - reference));
      } else {
        EXPECT_EQ(guess, -1.0) << u;  // outside the knots: the analytic start
      }
      worst_root =
          std::max(worst_root, std::fabs(quantile(d, u) - reference) / std::max(reference, 1e-300));
    }
    EXPECT_LT(worst_guess, 5e-4) << shape[0] << ", " << shape[1];
    EXPECT_LT(worst_root, 1e-14) << shape[0] << ", " << shape[1];
  }
}

TEST(Quantile, ConcentratedBetasUpToTheConfigLimitAreAccurate) {
  // host/config refuses a beta with a + b > 1e10. Up to that limit the inversion resolves the
  // distribution: against the skew-corrected normal (Cornish-Fisher, exact to O(1/(a+b)) in
  // units of sd), every quantile is within 1e-3 sd; measured beyond it, the error grows to
  // 6e-4 sd at 2.5e11 and 0.1 sd at 2.5e13, and a = b = 1e100 gives nonsense.
  for (const double mean : {0.5, 0.2, 0.03}) {
    for (const double concentration : {1e6, 1e8, 1e10}) {
      const double a = mean * concentration, b = (1 - mean) * concentration;
      const Distribution d = make_beta(a, b);
      const double sd = std::sqrt(a * b / (concentration * concentration * (concentration + 1)));
      const double skew = 2 * (b - a) * std::sqrt(concentration + 1) /
                          ((concentration + 2) * std::sqrt(a * b));
      for (const double u : {1.1641532182693481e-10, 1e-6, 0.01, 0.3, 0.5, 0.7, 0.99, 1 - 1e-6}) {
        const double z = normal_quantile(u);
        const double expected = mean + sd * (z + skew / 6 * (z * z - 1));
        EXPECT_NEAR(quantile(d, u), expected, 1e-3 * sd)
            << "mean " << mean << ", a + b " << concentration << ", u " << u;
      }
    }
  }
}

TEST(Quantile, NonDecreasingAndWithinSupport) {
  // A fine grid plus the tails down to 1e-300 on both sides.
  std::vector<double> us;
  for (double e = -300.0; e < -5.0; e += 1.0) us.push_back(std::pow(10.0, e));
  const int n = 20000;
  for (int i = 0; i < n; ++i) us.push_back((i + 0.5) / n);
  for (double e = -5.0; e >= -16.0; e -= 0.25) us.push_back(1.0 - std::pow(10.0, e));
  us.push_back(u_max);
  us.insert(us.begin(), u_min);
  std::sort(us.begin(), us.end());
  for (const auto& [name, d] : all_kinds()) {
    double previous = -INFINITY;
    for (double u : us) {
      const double x = quantile(d, u);
      ASSERT_GE(x, previous) << name << ", u = " << u;
      ASSERT_GE(x, d.lower) << name << ", u = " << u;
      ASSERT_LE(x, d.upper) << name << ", u = " << u;
      previous = x;
    }
  }
}

TEST(Quantile, Bernoulli) {
  const Distribution d = make_bernoulli(0.3);
  EXPECT_EQ(quantile(d, u_min), 0.0);
  EXPECT_EQ(quantile(d, 0.69), 0.0);
  EXPECT_EQ(quantile(d, 1.0 - 0.3), 0.0);  // 1 only for u strictly above 1 - p
  EXPECT_EQ(quantile(d, std::nextafter(1.0 - 0.3, 1.0)), 1.0);
  EXPECT_EQ(quantile(d, 0.71), 1.0);
  EXPECT_EQ(quantile(d, u_max), 1.0);
  // 1 exactly when u > 1 - p, so the share of a fine grid giving 1 is p.
  const int n = 100000;
  int ones = 0;
  for (int i = 0; i < n; ++i) ones += quantile(d, (i + 0.5) / n) == 1.0 ? 1 : 0;
  EXPECT_EQ(ones, 30000);
  // p = 0 never gives 1, p = 1 always does, at the extreme grid uniforms too.
  for (double u : {u_min, 0.5, u_max}) {
    EXPECT_EQ(quantile(make_bernoulli(0.0), u), 0.0) << u;
    EXPECT_EQ(quantile(make_bernoulli(1.0), u), 1.0) << u;
  }
}

// --- Moments by integration of Q over u -----------------------------------------------------

TEST(Moments, PertMeanIsTheWeightedAverage) {
  // E[X] = (min + 4 mode + max) / 6 for PERT with lambda = 4.
  const double cases[][3] = {{1.0, 3.0, 10.0}, {0.0, 0.0, 4.0}, {2.0, 9.0, 10.0}, {-5, 0, 5}};
  for (const auto& c : cases) {
    const Moments m = integrate_moments(make_pert(c[0], c[1], c[2]), 1 << 18);
    EXPECT_NEAR(m.mean, (c[0] + 4.0 * c[1] + c[2]) / 6.0, 1e-6 * (c[2] - c[0]))
        << c[0] << ", " << c[1] << ", " << c[2];
  }
}

TEST(Moments, BetaFromMeanAndSd) {
  const double cases[][2] = {{0.3, 0.1}, {0.05, 0.02}, {0.5, 0.25}, {0.9, 0.05}, {0.02, 0.1}};
  for (const auto& c : cases) {
    const Moments m = integrate_moments(make_beta_mean_sd(c[0], c[1]), 1 << 18);
    EXPECT_NEAR(m.mean, c[0], 1e-6) << "mean " << c[0] << ", sd " << c[1];
    EXPECT_NEAR(m.sd, c[1], 1e-6) << "mean " << c[0] << ", sd " << c[1];
  }
}

// --- Sampling -------------------------------------------------------------------------------

/// Draws n uniforms from a fixed-seed engine through Q. The sample mean must lie within 4
/// standard errors of the exact mean, and the standard error (from the sample sd) must stay
/// below 1.02 times the exact sd / sqrt(n): a Q that is too wide fails the second check even
/// if the widened first check would pass.
void expect_sample_mean(const Distribution& d, double exact_mean, double exact_sd,
                        const std::string& name) {
  const int n = 200000;
  std::mt19937_64 engine(0xC0FFEE);
  double sum = 0.0, sum_squares = 0.0;
  for (int i = 0; i < n; ++i) {
    const double x = quantile(d, open_uniform(engine));
    sum += x;
    sum_squares += x * x;
  }
  const double mean = sum / n;
  const double sd = std::sqrt((sum_squares - n * mean * mean) / (n - 1));
  const double standard_error = sd / std::sqrt(static_cast<double>(n));
  EXPECT_LE(std::fabs(mean - exact_mean), 4.0 * standard_error) << name;
  EXPECT_LE(standard_error, 1.02 * exact_sd / std::sqrt(static_cast<double>(n))) << name;
}

TEST(Sampling, TriangularMean) {
  // min 1, mode 3, max 10: mean (1 + 3 + 10) / 3, variance (a^2 + b^2 + c^2 - ab - ac - bc) / 18.
  expect_sample_mean(make_triangular(1.0, 3.0, 10.0), 14.0 / 3.0, std::sqrt(67.0 / 18.0),
                     "triangular");
}

TEST(Sampling, PertMean) {
  // PERT(1, 3, 10) is 1 + 9 Beta(a, b), a = 17/9, b = 37/9, a + b = 6:
  // mean (1 + 12 + 10) / 6, variance 81 a b / ((a + b)^2 (a + b + 1)).
  const double a = 17.0 / 9.0, b = 37.0 / 9.0;
  expect_sample_mean(make_pert(1.0, 3.0, 10.0), 23.0 / 6.0, 9.0 * std::sqrt(a * b / (36.0 * 7.0)),
                     "pert");
}

}  // namespace
}  // namespace caprisk
