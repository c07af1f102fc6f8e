// Correlated uniforms for factor-tied inputs (docs/MODEL.md, "Correlation (copula)").
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/distributions.h"
#include "kernels/min_max.h"
#include "kernels/rng.h"
#include "kernels/scenario_view.h"
#include "kernels/special_functions.h"

namespace caprisk {

/// u = F(+z_k) and u = F(-z_k) for every factor k on one path (sign +1 and -1).
struct FactorUniforms {
  double positive[ModelLimits::max_factors];
  double negative[ModelLimits::max_factors];
};

/// Keeps copula uniforms on the same open grid as the streams' own draws, so no quantile
/// function is ever evaluated at 0 or 1 (an extreme z can round F(z) to 1 in double).
CAPRISK_HD inline double clamp_open_unit(double u) {
  constexpr double lowest = 0.5 * 2.3283064365386963e-10;
  return min_of(max_of(u, lowest), 1.0 - lowest);
}

/// Gamma(shape, 1) by Marsaglia and Tsang's method; shape > 1 (df > 2 gives shape > 1).
CAPRISK_DEVICE inline double sample_gamma(double shape, RandomStream& stream) {
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    const double x = normal_quantile(stream.uniform());
    double v = 1.0 + c * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    const double u = stream.uniform();
    if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
  }
}

/// z = L eps with eps_k from factor k's own stream; Student-t scales z by sqrt(df / chi2).
CAPRISK_DEVICE inline void sample_factors(const CopulaParams& copula, std::uint64_t seed,
                                          std::uint64_t path, FactorUniforms& out) {
  const int k = copula.factor_count;
  if (k == 0) return;
  double eps[ModelLimits::max_factors];
  for (int i = 0; i < k; ++i) {
    RandomStream stream(stream_key(seed, copula.factor_keys[i]), path);
    eps[i] = normal_quantile(stream.uniform());
  }
  double scale = 1.0;
  if (copula.student_t) {
    RandomStream stream(stream_key(seed, copula.chi_square_key), path);
    const double chi_square = 2.0 * sample_gamma(0.5 * copula.df, stream);
    scale = sqrt(copula.df / chi_square);
  }
  for (int i = 0; i < k; ++i) {
    double z = 0.0;
    for (int j = 0; j <= i; ++j) z += copula.cholesky[i * k + j] * eps[j];
    z *= scale;
    const double up = copula.student_t ? student_t_cdf(z, copula.df) : normal_cdf(z);
    const double down = copula.student_t ? student_t_cdf(-z, copula.df) : normal_cdf(-z);
    out.positive[i] = clamp_open_unit(up);
    out.negative[i] = clamp_open_unit(down);
  }
}

/// One static input: the component's stream always advances by one draw, tied to a factor or
/// not, so tying an input to a factor never shifts the component's other draws.
CAPRISK_DEVICE inline double draw(const Distribution& d, RandomStream& stream,
                                  const FactorUniforms& factors) {
  const double own = stream.uniform();
  if (d.factor < 0) return quantile(d, own);
  return quantile(d, d.sign > 0 ? factors.positive[d.factor] : factors.negative[d.factor]);
}

}  // namespace caprisk
