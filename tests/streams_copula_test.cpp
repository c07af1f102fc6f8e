// Random streams per component (adding or editing one component never changes another's
// draws) and the Gaussian / Student-t copula.
#include <curand_kernel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "host/config/cholesky.h"
#include "host/config/config.h"
#include "kernels/copula.h"
#include "kernels/model.h"
#include "test_support.h"

namespace caprisk {
namespace {

using testing::scenario_from;

const std::string base = R"(
scenario: {name: streams, start: 2026-01, horizon_months: 24, seed: 5, paths: 10}
correlation:
  factors: [ramp, grid]
  matrix: [[1, 0.4], [0.4, 1]]
supply:
  program_share: {dist: beta, mean: 0.2, sd: 0.05}
  stacks_per_wafer: {dist: triangular, min: 19, mode: 24, max: 29}
  stacks_per_accelerator: 8
  kw_per_accelerator: {dist: uniform, min: 2.8, max: 4}
  hbm_yield: {initial: {dist: pert, min: 0.45, mode: 0.6, max: 0.75}, mature: 0.85,
              tau_months: {dist: lognormal, median: 9, p90: 15}}
  suppliers:
    - name: Alpha
      wafers_per_month: [[2026-01, 1000]]
      ramp_delay_months: {dist: lognormal, median: 2, p90: 8, factor: ramp}
      capacity_factor: {dist: pert, min: 0.8, mode: 0.97, max: 1.05}
funding:
  capex_per_gw: {dist: lognormal, median: 50, p90: 70}
  deals:
    - {name: Oracle, kind: schedule, tranches: [[2026-01, 10]],
       delay_months: {dist: uniform, min: 0, max: 6}, close_probability: 0.7}
sites:
  - name: Abilene
    funded_by: [Oracle]
    target_gw: [[2026-01, 1]]
    build_rate_gw: {dist: uniform, min: 0.1, max: 0.2}
    power:
      schedule: [[2026-01, 1]]
      delay_months: {dist: lognormal, median: 3, p90: 12, factor: grid}
      availability: {dist: pert, min: 0.7, mode: 0.95, max: 1.0}
      failure_probability: 0.1
)";

/// The base scenario with one more factor, supplier, deal and site, and the copula's first
/// factors untouched.
const std::string extended = [] {
  std::string yaml = base;
  auto replace = [&yaml](const std::string& from, const std::string& to) {
    yaml.replace(yaml.find(from), from.size(), to);
  };
  replace("factors: [ramp, grid]\n  matrix: [[1, 0.4], [0.4, 1]]",
          "factors: [ramp, grid, extra]\n  matrix: [[1, 0.4, 0.3], [0.4, 1, 0.2], [0.3, 0.2, 1]]");
  replace("  suppliers:\n",
          "  suppliers:\n    - name: Beta\n      wafers_per_month: [[2026-01, 500]]\n"
          "      ramp_delay_months: {dist: uniform, min: 0, max: 4, factor: extra}\n");
  replace("  deals:\n",
          "  deals:\n    - {name: Nvidia, kind: per_gw, per_gw: 10, advance: 10,\n"
          "       delay_months: {dist: uniform, min: 0, max: 3}}\n");
  yaml += R"(  - name: Milam
    funded_by: [Nvidia, Oracle]
    target_gw: [[2026-01, 2]]
    build_rate_gw: 0.2
    power:
      schedule: [[2026-01, 2]]
      delay_months: {dist: triangular, min: 0, mode: 2, max: 9, factor: extra}
)";
  return yaml;
}();

std::string with_edited_site_delay(const std::string& yaml) {
  std::string edited = yaml;
  const std::string from =
      "delay_months: {dist: triangular, min: 0, mode: 2, max: 9, factor: extra}";
  edited.replace(edited.find(from), from.size(), "delay_months: {dist: uniform, min: 5, max: 7}");
  return edited;
}

void expect_same_site(const SiteInputs& a, const SiteInputs& b) {
  EXPECT_EQ(a.power_delay_months, b.power_delay_months);
  EXPECT_EQ(a.power_availability, b.power_availability);
  EXPECT_EQ(a.power_fails, b.power_fails);
  EXPECT_EQ(a.build_rate_gw, b.build_rate_gw);
}

TEST(Streams, PhiloxBlocksMatchCurandBitForBit) {
  // RandomStream and monthly_uniforms evaluate Philox4x32-10 themselves; they must give the
  // exact bits of cuRAND's Philox state, which the GPU tests compare on the device too.
  const std::uint64_t keys[] = {0, 1, 0xFFFFFFFFULL, 0x123456789ABCDEF0ULL, ~0ULL};
  const std::uint64_t paths[] = {0, 1, 4294967295ULL, 4294967296ULL, 999999999999ULL};
  for (std::uint64_t key : keys) {
    for (std::uint64_t path : paths) {
      curandStatePhilox4_32_10_t state;
      curand_init(key, path, 0, &state);
      RandomStream stream(key, path);
      for (int i = 0; i < 23; ++i)
        ASSERT_EQ(stream.bits(), curand(&state)) << "key " << key << " path " << path << " #" << i;
      for (int month : {0, 1, 7, 59, 1199}) {
        curand_init(key, path, 4ULL * static_cast<std::uint64_t>(month), &state);
        const uint4 expected = curand4(&state);
        double u[4];
        monthly_uniforms(key, path, month, u);
        EXPECT_EQ(u[0], bits_to_uniform(expected.x));
        EXPECT_EQ(u[1], bits_to_uniform(expected.y));
        EXPECT_EQ(u[2], bits_to_uniform(expected.z));
        EXPECT_EQ(u[3], bits_to_uniform(expected.w));
      }
    }
  }
}

TEST(Streams, AddingComponentsDoesNotChangeExistingDraws) {
  const Scenario small = scenario_from(base);
  const Scenario large = scenario_from(extended);
  const FlatScenario a(small), b(large);
  const ScenarioView& va = a.view();
  const ScenarioView& vb = b.view();
  for (std::uint64_t path = 0; path < 200; ++path) {
    FactorUniforms fa, fb;
    sample_factors(va.copula, small.seed, path, fa);
    sample_factors(vb.copula, large.seed, path, fb);
    for (int k = 0; k < 2; ++k) {
      ASSERT_EQ(fa.positive[k], fb.positive[k]) << "factor " << k << " path " << path;
      ASSERT_EQ(fa.negative[k], fb.negative[k]);
    }
    const ProgramInputs pa = sample_program(va.program, small.seed, path, fa);
    const ProgramInputs pb = sample_program(vb.program, large.seed, path, fb);
    ASSERT_EQ(pa.program_share, pb.program_share);
    ASSERT_EQ(pa.capex_per_gw, pb.capex_per_gw);
    ASSERT_EQ(pa.hbm_yield.tau_months, pb.hbm_yield.tau_months);

    // Supplier Alpha is index 0 in one scenario and 1 in the other: found by name.
    const SupplierInputs sa = sample_supplier(va.suppliers[0], pa, small.seed, path, fa);
    const SupplierInputs sb = sample_supplier(vb.suppliers[1], pb, large.seed, path, fb);
    ASSERT_EQ(sa.ramp_delay_months, sb.ramp_delay_months);
    ASSERT_EQ(sa.capacity_factor, sb.capacity_factor);

    const DealInputs da = sample_deal(va.deals[0], va.points, small.seed, path, fa);
    const DealInputs db = sample_deal(vb.deals[1], vb.points, large.seed, path, fb);
    ASSERT_EQ(da.delay_months, db.delay_months);
    ASSERT_EQ(da.closes, db.closes);

    expect_same_site(sample_site(va.sites[0], small.seed, path, fa),
                     sample_site(vb.sites[0], large.seed, path, fb));
    // Monthly disruption and cancellation draws are keyed by name and month too.
    double ua[4], ub[4];
    monthly_uniforms(stream_key(small.seed, va.suppliers[0].event_key), path, 7, ua);
    monthly_uniforms(stream_key(large.seed, vb.suppliers[1].event_key), path, 7, ub);
    ASSERT_EQ(ua[0], ub[0]);
  }
}

TEST(Streams, EditingOneSiteChangesOnlyThatSite) {
  const Scenario before = scenario_from(extended);
  const Scenario after = scenario_from(with_edited_site_delay(extended));
  const FlatScenario a(before), b(after);
  int changed = 0;
  for (std::uint64_t path = 0; path < 200; ++path) {
    FactorUniforms fa, fb;
    sample_factors(a.view().copula, before.seed, path, fa);
    sample_factors(b.view().copula, after.seed, path, fb);
    expect_same_site(sample_site(a.view().sites[0], before.seed, path, fa),
                     sample_site(b.view().sites[0], after.seed, path, fb));
    const SiteInputs edited_before = sample_site(a.view().sites[1], before.seed, path, fa);
    const SiteInputs edited_after = sample_site(b.view().sites[1], after.seed, path, fb);
    changed += edited_before.power_delay_months != edited_after.power_delay_months;
    // The edited site's other inputs keep their draws too (one draw per input, always).
    ASSERT_EQ(edited_before.power_availability, edited_after.power_availability);
  }
  EXPECT_EQ(changed, 200);
}

TEST(Streams, RenamingAComponentGivesItNewDraws) {
  std::string renamed = base;
  renamed.replace(renamed.find("name: Abilene"), 13, "name: Abilene2");
  const Scenario a = scenario_from(base), b = scenario_from(renamed);
  const FlatScenario fa(a), fb(b);
  int differing = 0;
  for (std::uint64_t path = 0; path < 100; ++path) {
    FactorUniforms ua, ub;
    sample_factors(fa.view().copula, a.seed, path, ua);
    sample_factors(fb.view().copula, b.seed, path, ub);
    differing += sample_site(fa.view().sites[0], a.seed, path, ua).build_rate_gw !=
                 sample_site(fb.view().sites[0], b.seed, path, ub).build_rate_gw;
  }
  EXPECT_EQ(differing, 100);
}

/// Copula parameters for a correlation matrix, as host/config/flatten builds them.
CopulaParams make_copula(const std::vector<std::vector<double>>& matrix, bool student_t,
                         double df) {
  CopulaParams copula{};
  copula.factor_count = static_cast<int>(matrix.size());
  copula.student_t = student_t ? 1 : 0;
  copula.df = df;
  std::vector<double> lower;
  EXPECT_TRUE(cholesky_psd(matrix, lower));
  std::copy(lower.begin(), lower.end(), copula.cholesky);
  for (int k = 0; k < copula.factor_count; ++k)
    copula.factor_keys[k] = component_key("factor", std::to_string(k).c_str());
  copula.chi_square_key = component_key("copula", "chi-square");
  return copula;
}

double correlation(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

TEST(Copula, GaussianFactorsHaveTheRequestedCorrelations) {
  const std::vector<std::vector<double>> matrix = {
      {1.0, 0.6, -0.3}, {0.6, 1.0, 0.2}, {-0.3, 0.2, 1.0}};
  const CopulaParams copula = make_copula(matrix, false, 0);
  const std::uint64_t n = 40000;
  std::vector<std::vector<double>> z(3, std::vector<double>(n));
  double u_sum = 0;
  for (std::uint64_t p = 0; p < n; ++p) {
    FactorUniforms f;
    sample_factors(copula, 123, p, f);
    for (int k = 0; k < 3; ++k) {
      z[k][p] = normal_quantile(f.positive[k]);
      ASSERT_NEAR(f.positive[k] + f.negative[k], 1.0, 1e-12);
    }
    u_sum += f.positive[0];
  }
  // Uniform marginals: mean 1/2 with standard error sqrt(1/12/n).
  const double u_se = std::sqrt(1.0 / 12.0 / static_cast<double>(n));
  EXPECT_NEAR(u_sum / static_cast<double>(n), 0.5, 4 * u_se);
  for (int i = 0; i < 3; ++i) {
    for (int j = i + 1; j < 3; ++j) {
      const double rho = matrix[i][j];
      const double se = (1 - rho * rho) / std::sqrt(static_cast<double>(n));
      EXPECT_LT(se, 0.006);
      EXPECT_NEAR(correlation(z[i], z[j]), rho, 4 * se) << i << "," << j;
    }
  }
}

double kendall_tau(const std::vector<double>& x, const std::vector<double>& y) {
  long long concordant = 0, discordant = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    for (std::size_t j = i + 1; j < x.size(); ++j) {
      const double s = (x[i] - x[j]) * (y[i] - y[j]);
      concordant += s > 0;
      discordant += s < 0;
    }
  return static_cast<double>(concordant - discordant) /
         static_cast<double>(concordant + discordant);
}

TEST(Copula, StudentTKeepsKendallsTauAndAddsTailDependence) {
  // For any elliptical copula Kendall's tau = (2 / pi) arcsin(rho); the Student-t copula has
  // more joint extremes than the Gaussian one with the same rho.
  const double rho = 0.6;
  const std::vector<std::vector<double>> matrix = {{1, rho}, {rho, 1}};
  const CopulaParams t3 = make_copula(matrix, true, 3.0);
  const CopulaParams gaussian = make_copula(matrix, false, 0);
  const std::uint64_t n_tau = 2000;
  std::vector<double> x(n_tau), y(n_tau);
  for (std::uint64_t p = 0; p < n_tau; ++p) {
    FactorUniforms f;
    sample_factors(t3, 77, p, f);
    x[p] = f.positive[0];
    y[p] = f.positive[1];
  }
  const double tau_se = std::sqrt(4.0 / (9.0 * static_cast<double>(n_tau)));  // bound
  EXPECT_LT(tau_se, 0.016);
  EXPECT_NEAR(kendall_tau(x, y), 2.0 / M_PI * std::asin(rho), 4 * tau_se);

  const std::uint64_t n = 200000;
  int joint_t = 0, joint_gaussian = 0;
  for (std::uint64_t p = 0; p < n; ++p) {
    FactorUniforms ft, fg;
    sample_factors(t3, 78, p, ft);
    sample_factors(gaussian, 78, p, fg);
    joint_t += ft.positive[0] > 0.99 && ft.positive[1] > 0.99;
    joint_gaussian += fg.positive[0] > 0.99 && fg.positive[1] > 0.99;
  }
  // Gaussian: ~ 0.0019 n = 380 joint exceedances (sd ~ 20); Student-t(3): ~ 0.0033 n = 660.
  EXPECT_GT(joint_t, joint_gaussian + 150) << joint_t << " vs " << joint_gaussian;
}

TEST(Copula, FactorTiedInputsMoveTogetherAndSignFlipsThem) {
  // Two inputs on the same factor with sign +1 are comonotone; sign -1 makes them
  // countermonotone.
  const std::vector<std::vector<double>> matrix = {{1}};
  const CopulaParams copula = make_copula(matrix, false, 0);
  Distribution up = make_uniform(0, 10);
  up.factor = 0;
  Distribution down = make_lognormal(0, 1);
  down.factor = 0;
  down.sign = -1;
  std::vector<double> a, b;
  for (std::uint64_t p = 0; p < 500; ++p) {
    FactorUniforms f;
    sample_factors(copula, 9, p, f);
    RandomStream stream(1, p);
    a.push_back(draw(up, stream, f));
    b.push_back(draw(down, stream, f));
  }
  EXPECT_NEAR(kendall_tau(a, b), -1.0, 1e-12);
}

TEST(Cholesky, AcceptsSemidefiniteAndRejectsIndefinite) {
  std::vector<double> lower;
  EXPECT_TRUE(cholesky_psd({{1, 1}, {1, 1}}, lower));  // perfectly correlated: PSD, singular
  EXPECT_FALSE(cholesky_psd({{1, 0.9, -0.9}, {0.9, 1, 0.9}, {-0.9, 0.9, 1}}, lower));
  ASSERT_TRUE(cholesky_psd({{1, 0.5}, {0.5, 1}}, lower));
  EXPECT_DOUBLE_EQ(lower[0], 1.0);
  EXPECT_DOUBLE_EQ(lower[2], 0.5);
  EXPECT_DOUBLE_EQ(lower[3], std::sqrt(0.75));
}

}  // namespace
}  // namespace caprisk
