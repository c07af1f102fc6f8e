// Tests of kernels/special_functions.h. Reference values come from SciPy 1.10.1 (Debian
// python3-scipy), printed with 17 significant digits; when they were generated each one was
// also checked against mpmath 1.2.1 at 50+ digits, and the few where SciPy itself is off by
// more than the tolerance used here are noted or left out.
#include "kernels/special_functions.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace caprisk {
namespace {

constexpr double pi = 3.14159265358979323846;

/// |got - want| <= tolerance * |want|.
::testing::AssertionResult relatively_near(double got, double want, double tolerance) {
  const double error = std::fabs(got - want);
  if (error <= tolerance * std::fabs(want)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << got << ", want " << want << ", relative error "
                                       << error / std::fabs(want) << " > " << tolerance;
}

/// A uniform double in (0, 1) from 53 random bits, the same on every standard library.
double open_uniform(std::mt19937_64& engine) {
  return (static_cast<double>(engine() >> 11) + 0.5) * 0x1.0p-53;
}

// --- Normal CDF -----------------------------------------------------------------------------

struct CdfCase {
  double x;
  double phi;
};

TEST(NormalCdf, DoubleMatchesScipy) {
  // scipy.special.ndtr(x).
  const CdfCase cases[] = {
      {-8, 6.2209605742717405e-16}, {-5.2, 9.9644263169334701e-08}, {-3, 0.0013498980316300933},
      {-1, 0.15865525393145707},    {-0.1, 0.46017216272297101},    {0, 0.5},
      {0.5, 0.69146246127401312},   {1.7, 0.95543453724145699},     {3, 0.9986501019683699},
      {5.2, 0.99999990035573683},   {8, 0.99999999999999933},
  };
  for (const CdfCase& c : cases) {
    EXPECT_TRUE(relatively_near(normal_cdf(c.x), c.phi, 1e-14)) << "x = " << c.x;
  }
  // scipy.special.ndtr(-20) = 2.7536241186061556e-89 is itself 2.8e-14 off (mpmath): erfc
  // magnifies the rounding of -x / sqrt(2) by 2 z^2 = 400 in both implementations.
  EXPECT_TRUE(relatively_near(normal_cdf(-20.0), 2.7536241186061556e-89, 1e-13));
}

TEST(NormalCdf, DoubleTailsAreSymmetric) {
  for (double x = 0.0; x < 9.0; x += 0.125) {
    EXPECT_NEAR(normal_cdf(x) + normal_cdf(-x), 1.0, 2.3e-16) << "x = " << x;
  }
}

TEST(NormalCdf, FloatMatchesScipy) {
  // scipy.special.ndtr at the float-rounded inputs, evaluated in double.
  const struct {
    float x;
    double phi;
  } cases[] = {
      {-12.0f, 1.776482112077653e-33}, {-8.0f, 6.2209605742717405e-16},
      {-5.2f, 9.9644365423019691e-08}, {-3.0f, 0.0013498980316300933},
      {-1.0f, 0.15865525393145707},    {0.0f, 0.5},
      {0.5f, 0.69146246127401312},     {3.0f, 0.9986501019683699},
      {5.2f, 0.99999990035563457},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(relatively_near(normal_cdf(c.x), c.phi, 1e-6)) << "x = " << c.x;
  }
}

// --- Normal quantile ------------------------------------------------------------------------

TEST(NormalQuantile, DoubleMatchesScipy) {
  // scipy.special.ndtri(u).
  const struct {
    double u;
    double x;
  } cases[] = {
      {1e-300, -37.047096299361201},  {1e-10, -6.3613409024040557},    {1e-7, -5.1993375821928165},
      {0.001, -3.0902323061678132},   {0.025, -1.9599639845400545},    {0.3, -0.52440051270804089},
      {0.6, 0.25334710313579972},     {0.975, 1.959963984540054},      {0.999, 3.0902323061678132},
      {1 - 1e-7, 5.1993375822906609}, {1 - 1e-10, 6.3613408896974217},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(relatively_near(normal_quantile(c.u), c.x, 1e-14)) << "u = " << c.u;
  }
  EXPECT_EQ(normal_quantile(0.5), 0.0);
}

TEST(NormalQuantile, FloatMatchesScipy) {
  // scipy.special.ndtri at the float-rounded inputs, evaluated in double.
  const struct {
    float u;
    double x;
  } cases[] = {
      {1e-10f, -6.3613409003536452}, {1e-7f, -5.1993375800204911},    {0.001f, -3.090232292061434},
      {0.025f, -1.9599639781660518}, {0.3f, -0.52440047842221371},    {0.975f, 1.9599643924763872},
      {0.999f, 3.0902361298491052},  {1 - 1e-7f, 5.1665781197287535},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(relatively_near(normal_quantile(c.u), c.x, 1e-6)) << "u = " << c.u;
  }
  EXPECT_EQ(normal_quantile(0.5f), 0.0f);
}

TEST(NormalQuantile, InfiniteAtAndBeyondTheEnds) {
  EXPECT_EQ(normal_quantile(0.0), -INFINITY);
  EXPECT_EQ(normal_quantile(-0.5), -INFINITY);
  EXPECT_EQ(normal_quantile(1.0), INFINITY);
  EXPECT_EQ(normal_quantile(1.5), INFINITY);
  EXPECT_EQ(normal_quantile(0.0f), -INFINITY);
  EXPECT_EQ(normal_quantile(1.0f), INFINITY);
}

TEST(NormalQuantile, DoubleRoundTripsThroughTheCdf) {
  // Phi(Phi^-1(u)) = u; an error e in x shows in Phi as x e relative, and Phi's own argument
  // rounding as x^2 e, hence the (1 + x^2) scaling.
  for (double exponent = -300.0; exponent <= -0.5; exponent += 0.25) {
    const double u = std::pow(10.0, exponent);
    const double x = normal_quantile(u);
    const double tolerance = 4e-16 * (1.0 + x * x);
    EXPECT_TRUE(relatively_near(normal_cdf(x), u, tolerance)) << "u = " << u;
    if (exponent >= -15.0) {  // upper tail: 1 - u exact enough, compare the small side
      const double x_upper = normal_quantile(1.0 - u);
      EXPECT_TRUE(relatively_near(normal_cdf(-x_upper), 1.0 - (1.0 - u), tolerance))
          << "1 - u, u = " << u;
    }
  }
}

TEST(NormalQuantile, FloatRoundTripsThroughTheCdf) {
  for (float exponent = -37.0f; exponent <= -0.5f; exponent += 0.25f) {
    const float u = std::pow(10.0f, exponent);
    const float x = normal_quantile(u);
    const double tolerance = 3e-7 * (1.0 + double{x} * x);
    EXPECT_TRUE(relatively_near(normal_cdf(x), u, tolerance)) << "u = " << u;
  }
}

// --- Incomplete beta ------------------------------------------------------------------------

struct BetaCase {
  double x;
  double a;
  double b;
  double value;
};

// scipy.special.betainc(a, b, x). Left out: x = 0.99 and 1 - 1e-6 with (a, b) = (2.2, 3.8),
// (1, 5), (3, 3), (1.5, 4.5) and (0.3, 2.5), and x = 1 - 1e-6 with (5, 1), where SciPy's
// 1 - I is off by 2e-12 or more relative (mpmath); the symmetry test covers that side.
constexpr BetaCase beta_cases[] = {
    // PERT-like shapes
    {1e-08, 2.2, 3.8, 2.6490832358595051e-17},
    {0.01, 2.2, 3.8, 0.00041182456814822002},
    {0.2, 2.2, 3.8, 0.20347606462948453},
    {0.5, 2.2, 3.8, 0.76001087328650396},
    {0.8, 2.2, 3.8, 0.98903775130600813},
    {1e-08, 1, 5, 4.9999999000000014e-08},
    {0.01, 1, 5, 0.049009950099999998},
    {0.2, 1, 5, 0.67232000000000003},
    {0.5, 1, 5, 0.96875},
    {0.8, 1, 5, 0.99968000000000001},
    {1e-08, 5, 1, 1.0000000000000001e-40},
    {0.01, 5, 1, 1.0000000000000002e-10},
    {0.2, 5, 1, 0.00032000000000000008},
    {0.5, 5, 1, 0.03125},
    {0.8, 5, 1, 0.32768000000000008},
    {0.99, 5, 1, 0.95099004989999991},
    {1e-08, 3, 3, 9.9999998500000012e-24},
    {0.01, 3, 3, 9.8506000000000019e-06},
    {0.2, 3, 3, 0.057920000000000006},
    {0.5, 3, 3, 0.5},
    {0.8, 3, 3, 0.94208000000000003},
    {1e-08, 1.5, 4.5, 7.7606980144587115e-12},
    {0.01, 1.5, 4.5, 0.0075991729935654794},
    {0.2, 1.5, 4.5, 0.45069550712572004},
    {0.5, 1.5, 4.5, 0.91228709067614788},
    {0.8, 1.5, 4.5, 0.99830744662786519},
    // a < 1 and / or b < 1
    {1e-08, 0.5, 0.5, 6.3661977342861439e-05},
    {0.01, 0.5, 0.5, 0.063768560858519868},
    {0.2, 0.5, 0.5, 0.29516723530086664},
    {0.5, 0.5, 0.5, 0.50000000000000011},
    {0.8, 0.5, 0.5, 0.70483276469913336},
    {0.99, 0.5, 0.5, 0.9362314391414801},
    {1 - 1e-6, 0.5, 0.5, 0.99936338012151993},
    {1e-08, 0.3, 2.5, 0.0055942863562332863},
    {0.01, 0.3, 2.5, 0.35175549746174795},
    {0.2, 0.3, 2.5, 0.80877953361028188},
    {0.5, 0.3, 2.5, 0.95876164608398384},
    {0.8, 0.3, 2.5, 0.99663501016968015},
    {1e-08, 2.5, 0.7, 5.6189739351096884e-21},
    {0.01, 2.5, 0.7, 5.6310758382134489e-06},
    {0.2, 2.5, 0.7, 0.010532224589409261},
    {0.5, 2.5, 0.7, 0.11398345944666881},
    {0.8, 2.5, 0.7, 0.42729668636198453},
    {0.99, 2.5, 0.7, 0.92060146052844427},
    {1 - 1e-6, 2.5, 0.7, 0.99987338104730317},
    {1e-08, 0.2, 0.1, 0.0086027211394759402},
    {0.01, 0.2, 0.1, 0.13654952427373004},
    {0.2, 0.2, 0.1, 0.25656204440340846},
    {0.5, 0.2, 0.1, 0.3294292038971009},
    {0.8, 0.2, 0.1, 0.40746534264452156},
    {0.99, 0.2, 0.1, 0.56750302578389422},
    {1 - 1e-6, 0.2, 0.1, 0.82794556495501315},
};

// scipy.special.betainc(a, b, x) for large shapes; these SciPy values are ~8e-13 off (mpmath).
constexpr BetaCase large_beta_cases[] = {
    {0.2, 200, 500, 3.2820120175653203e-08},
    {0.27, 200, 500, 0.17914725395733219},
    {0.2857142857142857, 200, 500, 0.5047693253587402},
    {0.3, 200, 500, 0.79962082517332411},
    {0.36, 200, 500, 0.99998529980212525},
    {0.64, 500, 200, 1.470019787474266e-05},
    {0.7, 500, 200, 0.2003791748266873},
    {0.7142857142857143, 500, 200, 0.49523067464052117},
    {0.73, 500, 200, 0.82085274604266778},
    {0.8, 500, 200, 0.99999996717987982},
};

/// Relative error where I < 1/2; absolute where I is near 1 (its complement was checked
/// relatively through the symmetry test).
void expect_beta_near(const BetaCase& c, double tolerance) {
  const double got = incomplete_beta(c.x, c.a, c.b, log_beta(c.a, c.b));
  if (c.value < 0.5) {
    EXPECT_TRUE(relatively_near(got, c.value, tolerance))
        << "x = " << c.x << ", a = " << c.a << ", b = " << c.b;
  } else {
    EXPECT_NEAR(got, c.value, tolerance) << "x = " << c.x << ", a = " << c.a << ", b = " << c.b;
  }
}

TEST(IncompleteBeta, MatchesScipy) {
  for (const BetaCase& c : beta_cases) expect_beta_near(c, 1e-13);
}

TEST(IncompleteBeta, MatchesScipyForLargeShapes) {
  // ln B(a, b) loses ~1e-13 to cancellation between lgamma values near 2000 at these shapes.
  for (const BetaCase& c : large_beta_cases) expect_beta_near(c, 5e-12);
}

TEST(IncompleteBeta, ComplementIsTheMirroredFunction) {
  // I_x(a, b) + I_{1-x}(b, a) = 1, and the small side keeps its relative precision.
  for (const BetaCase& c : beta_cases) {
    const double y = 1.0 - c.x;  // rounded; then 1 - y is exact, so both see the same point
    const double mirrored = incomplete_beta(y, c.b, c.a, log_beta(c.b, c.a));
    EXPECT_NEAR(incomplete_beta(1.0 - y, c.a, c.b) + mirrored, 1.0, 1e-14)
        << "x = " << c.x << ", a = " << c.a << ", b = " << c.b;
  }
  // The complements SciPy could not give as 1 - I: scipy.special.betainc(b, a, 1 - x), for
  // x = 0.99 with (a, b) = (2.2, 3.8) and x = 1 - 1e-6 with (3, 3).
  EXPECT_TRUE(
      relatively_near(incomplete_beta(1.0 - 0.99, 3.8, 2.2), 1.5191219250051095e-07, 1e-13));
  EXPECT_TRUE(relatively_near(incomplete_beta(1.0 - (1.0 - 1e-6), 3.0, 3.0), 9.9999850008686672e-18,
                              1e-13));
}

TEST(IncompleteBeta, ClosedForms) {
  for (double x = 0.0; x <= 1.0; x += 1.0 / 64) {
    EXPECT_NEAR(incomplete_beta(x, 1.0, 4.0), 1.0 - std::pow(1.0 - x, 4.0), 1e-15) << x;
    EXPECT_NEAR(incomplete_beta(x, 3.5, 1.0), std::pow(x, 3.5), 1e-15) << x;
    EXPECT_NEAR(incomplete_beta(x, 0.5, 0.5), 2.0 / pi * std::asin(std::sqrt(x)), 1e-15) << x;
  }
}

TEST(IncompleteBeta, EndpointsAndOverload) {
  EXPECT_EQ(incomplete_beta(0.0, 2.0, 3.0), 0.0);
  EXPECT_EQ(incomplete_beta(1.0, 2.0, 3.0), 1.0);
  EXPECT_EQ(incomplete_beta(0.3, 2.2, 3.8), incomplete_beta(0.3, 2.2, 3.8, log_beta(2.2, 3.8)));
  EXPECT_NEAR(log_beta(2.0, 3.0), std::log(1.0 / 12.0), 1e-15);
  EXPECT_NEAR(log_beta(0.5, 0.5), std::log(pi), 1e-15);
}

// --- Incomplete beta inverse ----------------------------------------------------------------

struct InverseCase {
  double a;
  double b;
  double u;
  double x;
};

// scipy.special.betaincinv(a, b, u). Where x is within 1e-7 of 1 SciPy's x is off by up to
// 0.1 % of 1 - x (mpmath) but that is below one ulp of x, so the tolerance covers it.
constexpr InverseCase inverse_cases[] = {
    {2.2, 3.8, 1e-7, 0.0002255402566271916},
    {2.2, 3.8, 0.001, 0.015033386753324371},
    {2.2, 3.8, 0.05, 0.095704283529198908},
    {2.2, 3.8, 0.5, 0.35099948494911809},
    {2.2, 3.8, 0.95, 0.69155101771162641},
    {2.2, 3.8, 0.999, 0.89636913762845083},
    {2.2, 3.8, 1 - 1e-7, 0.99104432696193145},
    {1, 5, 1e-7, 2.0000000800000047e-08},
    {1, 5, 0.001, 0.0002000800480336256},
    {1, 5, 0.05, 0.010206218313011498},
    {1, 5, 0.5, 0.12944943670387588},
    {1, 5, 0.95, 0.45071972834694107},
    {1, 5, 0.999, 0.74881135684904199},
    {1, 5, 1 - 1e-7, 0.96018928294884121},
    {5, 1, 1e-7, 0.039810717055349727},
    {5, 1, 0.001, 0.25118864315095801},
    {5, 1, 0.05, 0.54928027165305893},
    {5, 1, 0.5, 0.87055056329612412},
    {5, 1, 0.95, 0.98979378168698851},
    {5, 1, 0.999, 0.99979991995196638},
    {5, 1, 1 - 1e-7, 0.99999997999999923},
    {3, 3, 1e-7, 0.002156761000840909},
    {3, 3, 0.001, 0.047551898175457678},
    {3, 3, 0.05, 0.18925537743777079},
    {3, 3, 0.5, 0.5},
    {3, 3, 0.95, 0.81074462256222912},
    {3, 3, 0.999, 0.95244810182454231},
    {3, 3, 1 - 1e-7, 0.99784323899953786},
    {1.5, 4.5, 1e-7, 5.4962879772649851e-06},
    {1.5, 4.5, 0.001, 0.0025602956669170474},
    {1.5, 4.5, 0.05, 0.03644726804538885},
    {1.5, 4.5, 0.5, 0.22111989492272732},
    {1.5, 4.5, 0.95, 0.56284461053497803},
    {1.5, 4.5, 0.999, 0.82250414549900919},
    {1.5, 4.5, 1 - 1e-7, 0.97742564228186479},
    {0.5, 0.5, 1e-7, 2.4674011002723171e-14},
    {0.5, 0.5, 0.001, 2.4673990709169425e-06},
    {0.5, 0.5, 0.05, 0.0061558297024311348},
    {0.5, 0.5, 0.5, 0.49999999999999967},
    {0.5, 0.5, 0.95, 0.99384417029756889},
    {0.5, 0.5, 0.999, 0.99999753260092905},
    {0.5, 0.5, 1 - 1e-7, 0.99999999999997535},
    {0.3, 2.5, 1e-7, 1.493428214028733e-24},
    {0.3, 2.5, 0.001, 3.2174935514953163e-11},
    {0.3, 2.5, 0.05, 1.4816937802663799e-05},
    {0.3, 2.5, 0.5, 0.033168230983346175},
    {0.3, 2.5, 0.95, 0.46640343910253007},
    {0.3, 2.5, 0.999, 0.87475900191076195},
    {0.3, 2.5, 1 - 1e-7, 0.99677188602109912},
    {2.5, 0.7, 1e-7, 0.0019955510822642565},
    {2.5, 0.7, 0.001, 0.078904774714170983},
    {2.5, 0.7, 0.05, 0.36607279423953037},
    {2.5, 0.7, 0.5, 0.84150217884148404},
    {2.5, 0.7, 0.95, 0.99485699849207399},
    {2.5, 0.7, 0.999, 0.99998085075547793},
    {2.5, 0.7, 1 - 1e-7, 0.99999999996302924},
    {200, 500, 1e-7, 0.20295017125840362},
    {200, 500, 0.001, 0.2348454623983684},
    {200, 500, 0.05, 0.25799864527809679},
    {200, 500, 0.5, 0.28551010314715908},
    {200, 500, 0.95, 0.31412655411174439},
    {200, 500, 0.999, 0.34006313513944808},
    {200, 500, 1 - 1e-7, 0.37899251494472308},
    {500, 200, 1e-7, 0.6210074850571079},
    {500, 200, 0.001, 0.65993686486055192},
    {500, 200, 0.05, 0.68587344588825561},
    {500, 200, 0.5, 0.71448989685284092},
    {500, 200, 0.95, 0.7420013547219042},
    {500, 200, 0.999, 0.76515453760163155},
    {500, 200, 1 - 1e-7, 0.79704982874302122},
};

TEST(IncompleteBetaInverse, SolvesAndMatchesScipy) {
  for (const InverseCase& c : inverse_cases) {
    const double log_beta_ab = log_beta(c.a, c.b);
    const double x = incomplete_beta_inverse(c.u, c.a, c.b, log_beta_ab);
    const double scale = std::fmin(c.x, 1.0 - c.x);
    EXPECT_LE(std::fabs(incomplete_beta(x, c.a, c.b, log_beta_ab) - c.u), 1e-9)
        << "a = " << c.a << ", b = " << c.b << ", u = " << c.u;
    EXPECT_NEAR(x, c.x, 1e-10 * scale + 2.3e-16)
        << "a = " << c.a << ", b = " << c.b << ", u = " << c.u;
  }
}

TEST(IncompleteBetaInverse, SolvesToRelativePrecisionOverWideShapes) {
  // Shapes log-uniform on [0.05, 1000], u spread over (1e-10, 1 - 1e-10) with both tails.
  // The residual on the small side is within 1e-10 relative, unless the doubles next to x
  // already straddle u (near x = 1 a steep I can step by more than that per ulp).
  std::mt19937_64 engine(20240611);
  const double log_low = std::log(0.05);
  const double log_span = std::log(1000.0) - log_low;
  for (int i = 0; i < 20000; ++i) {
    const double a = std::exp(log_low + log_span * open_uniform(engine));
    const double b = std::exp(log_low + log_span * open_uniform(engine));
    const double w = open_uniform(engine);
    const double tail = std::pow(10.0, -10.0 * open_uniform(engine));
    const double u = i % 3 == 0 ? w : i % 3 == 1 ? tail : 1.0 - tail;
    const double log_beta_ab = log_beta(a, b);
    const double x = incomplete_beta_inverse(u, a, b, log_beta_ab);
    ASSERT_GE(x, 0.0);
    ASSERT_LE(x, 1.0);
    const double target = std::fmin(u, 1.0 - u);
    // The small side: I for u < 1/2, else 1 - I, which only the detail function gives
    // without cancellation (I_{1-x}(b, a) would suffer the rounding of 1 - x for tiny x).
    auto small_side = [&](double at) {
      const detail::BetaParts parts =
          detail::incomplete_beta_parts(at, 1.0 - at, a, b, log_beta_ab);
      return u < 0.5 ? parts.lower : parts.upper;
    };
    const double residual = std::fabs(small_side(x) - target);
    if (residual <= 1e-10 * target) continue;
    const double below = small_side(std::nextafter(x, 0.0));
    const double above = small_side(std::nextafter(x, 1.0));
    EXPECT_LE(std::fmin(below, above), target) << "a = " << a << ", b = " << b << ", u = " << u;
    EXPECT_GE(std::fmax(below, above), target) << "a = " << a << ", b = " << b << ", u = " << u;
  }
}

TEST(IncompleteBetaInverse, MonotoneInU) {
  const double shapes[][2] = {{2.2, 3.8}, {1.0, 5.0}, {0.5, 0.5}, {0.3, 2.5}, {200, 500}};
  for (const auto& shape : shapes) {
    const double log_beta_ab = log_beta(shape[0], shape[1]);
    double previous = 0.0;
    for (int i = 1; i < 4096; ++i) {
      const double x = incomplete_beta_inverse(i / 4096.0, shape[0], shape[1], log_beta_ab);
      EXPECT_GE(x, previous) << "a = " << shape[0] << ", b = " << shape[1] << ", i = " << i;
      previous = x;
    }
  }
}

TEST(IncompleteBetaInverse, EdgesAndUnderflow) {
  const double log_beta_ab = log_beta(2.0, 3.0);
  EXPECT_EQ(incomplete_beta_inverse(0.0, 2.0, 3.0, log_beta_ab), 0.0);
  EXPECT_EQ(incomplete_beta_inverse(1.0, 2.0, 3.0, log_beta_ab), 1.0);
  // The root (u a B)^(1/a) ~ 1e-4000 underflows: 0 is the closest double.
  EXPECT_EQ(incomplete_beta_inverse(1e-200, 0.05, 2.0, log_beta(0.05, 2.0)), 0.0);
  // I_x(1, b) = 1 - (1 - x)^b inverts in closed form.
  for (double u = 0.0625; u < 1.0; u += 0.0625) {
    EXPECT_NEAR(incomplete_beta_inverse(u, 1.0, 4.0, log_beta(1.0, 4.0)),
                1.0 - std::pow(1.0 - u, 0.25), 1e-15)
        << u;
  }
}

// --- Student's t ----------------------------------------------------------------------------

TEST(StudentT, MatchesScipy) {
  // scipy.stats.t.cdf(t, df) and scipy.stats.t.sf(t, df).
  const struct {
    double df;
    double t;
    double cdf;
    double sf;
  } cases[] = {
      {2.5, -20, 0.00039969412225121666, 0.99960030587774884},
      {2.5, -3, 0.036288047774515914, 0.96371195222548411},
      {2.5, -0.5, 0.32884895993485741, 0.67115104006514259},
      {2.5, 0, 0.5, 0.5},
      {2.5, 1, 0.79796948636086329, 0.20203051363913677},
      {2.5, 4, 0.98049351207934088, 0.019506487920659125},
      {2.5, 50, 0.99995934752457527, 4.0652475424793646e-05},
      {3, -20, 0.00013660162512365583, 0.99986339837487637},
      {3, -3, 0.028834442811218657, 0.97116555718878128},
      {3, -0.5, 0.32572398242407552, 0.67427601757592459},
      {3, 0, 0.5, 0.5},
      {3, 1, 0.80449889052211476, 0.19550110947788527},
      {3, 4, 0.98599577199492694, 0.014004228005073078},
      {3, 50, 0.9999911914239793, 8.8085760206359757e-06},
      {5, -20, 2.8877581866120836e-06, 0.99999711224181342},
      {5, -3, 0.015049623948731284, 0.98495037605126878},
      {5, -0.5, 0.31914943582046451, 0.68085056417953549},
      {5, 0, 0.5, 0.5},
      {5, 1, 0.81839126617543867, 0.18160873382456127},
      {5, 4, 0.99483829225958431, 0.0051617077404157259},
      {5, 50, 0.99999996976121186, 3.0238788133006171e-08},
      {30, -20, 3.3745418328856423e-19, 1},
      {30, -3, 0.0026949820328259718, 0.99730501796717397},
      {30, -0.5, 0.31036150244256366, 0.68963849755743634},
      {30, 0, 0.5, 0.5},
      {30, 1, 0.83734569228698508, 0.16265430771301492},
      {30, 4, 0.99980907718195811, 0.00019092281804187819},
      {30, 50, 1, 9.3577088296114218e-31},
  };
  for (const auto& c : cases) {
    // The small tail relatively (by symmetry for t > 0), the CDF itself absolutely.
    const double small_tail = c.t <= 0 ? c.cdf : c.sf;
    EXPECT_TRUE(relatively_near(student_t_cdf(-std::fabs(c.t), c.df), small_tail, 1e-12))
        << "df = " << c.df << ", t = " << c.t;
    EXPECT_NEAR(student_t_cdf(c.t, c.df), c.cdf, 1e-15) << "df = " << c.df << ", t = " << c.t;
  }
}

TEST(StudentT, LargeDegreesOfFreedom) {
  // scipy.stats.t.cdf(t, df); SciPy's own error (mpmath) is below 5e-14 at t = -20. At
  // df = 1e6 and t = -5 the continued fraction sits near its switch point and needs ~450
  // terms, whose rounding adds up to ~2e-11.
  const struct {
    double df;
    double t;
    double cdf;
    double tolerance;
  } cases[] = {
      {1000, -5, 3.3836281823243132e-07, 2e-13},     {1000, -20, 2.0311442497624828e-75, 2e-13},
      {1000, -0.5, 0.30859254041693751, 2e-13},      {1000000, -5, 2.8669989354453655e-07, 1e-10},
      {1000000, -20, 2.8665435236952363e-89, 1e-10}, {1000000, -0.5, 0.30853759373618583, 2e-13},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(relatively_near(student_t_cdf(c.t, c.df), c.cdf, c.tolerance))
        << "df = " << c.df << ", t = " << c.t;
  }
}

TEST(StudentT, ClosedFormsForOneAndTwoDegreesOfFreedom) {
  for (double t = 0.25; t < 1e6; t *= 2.0) {
    // df = 1 (Cauchy): F(-t) = atan(1 / t) / pi.
    EXPECT_TRUE(relatively_near(student_t_cdf(-t, 1.0), std::atan(1.0 / t) / pi, 1e-13)) << t;
    // df = 2: F(-t) = (1 - t / s) / 2 = 1 / (s (s + t)), s = sqrt(2 + t^2).
    const double s = std::sqrt(2.0 + t * t);
    EXPECT_TRUE(relatively_near(student_t_cdf(-t, 2.0), 1.0 / (s * (s + t)), 1e-13)) << t;
    EXPECT_NEAR(student_t_cdf(t, 2.0) + student_t_cdf(-t, 2.0), 1.0, 2.3e-16) << t;
  }
  EXPECT_EQ(student_t_cdf(INFINITY, 3.0), 1.0);
  EXPECT_EQ(student_t_cdf(-INFINITY, 3.0), 0.0);
}

}  // namespace
}  // namespace caprisk
