// Distributions of uncertain inputs (docs/MODEL.md, "Uncertain inputs"), sampled by their
// quantile function x = Q(u) so that any of them can be tied to a copula factor.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/min_max.h"
#include "kernels/qualifiers.h"
#include "kernels/special_functions.h"

namespace caprisk {

enum class DistKind : std::uint8_t {
  fixed,
  uniform,
  normal,
  lognormal,
  triangular,
  pert,
  beta,
  bernoulli,
};

/// Knots of a beta's quantile table: u = i / beta_table_steps for i = 1 .. steps - 1.
constexpr int beta_table_steps = 16;

/// A validated distribution with its parameters pre-computed on the host, so that Q(u) does
/// no setup work per path. Trivially copyable; `param` meaning depends on `kind` (see make_*).
struct Distribution {
  DistKind kind = DistKind::fixed;
  std::int8_t sign = 1;      ///< +1 or -1: which side of the factor drives this input
  std::int16_t factor = -1;  ///< copula factor index, -1 = independent draw
  double param[5] = {0, 0, 0, 0, 0};
  double lower = 0;  ///< support, used to clamp rounding at the ends
  double upper = 0;
  /// Beta and PERT: the standard beta's quantile Q and dQ/du at the knots (Q first), the
  /// starting point of the inversion between the outer knots: the cubic Hermite guess is
  /// typically within 1e-6 (3e-4 at worst, next to the outer knots), so one Householder step
  /// mostly reaches the root, against about two after the analytic guess. All zero: no table.
  double table[2 * (beta_table_steps - 1)] = {};
};

namespace detail {
CAPRISK_HD inline Distribution make_distribution(DistKind kind, double lower, double upper) {
  Distribution d;
  d.kind = kind;
  d.lower = lower;
  d.upper = upper;
  return d;
}
}  // namespace detail

// --- Constructors: parameters must already be validated (host/config does that). ----------

CAPRISK_HD inline Distribution make_fixed(double value) {
  Distribution d = detail::make_distribution(DistKind::fixed, value, value);
  d.param[0] = value;
  return d;
}

CAPRISK_HD inline Distribution make_uniform(double min, double max) {
  Distribution d = detail::make_distribution(DistKind::uniform, min, max);
  d.param[0] = min;
  d.param[1] = max - min;
  return d;
}

/// Normal, truncated to [lower, upper] (use +-infinity for an open side).
CAPRISK_HD inline Distribution make_normal(double mean, double sd, double lower, double upper) {
  Distribution d = detail::make_distribution(DistKind::normal, lower, upper);
  d.param[0] = mean;
  d.param[1] = sd;
  d.param[2] = std::isinf(lower) ? 0.0 : normal_cdf((lower - mean) / sd);
  d.param[3] = std::isinf(upper) ? 1.0 : normal_cdf((upper - mean) / sd);
  return d;
}

CAPRISK_HD inline Distribution make_lognormal(double mu, double sigma) {
  Distribution d = detail::make_distribution(DistKind::lognormal, 0.0, INFINITY);
  d.param[0] = mu;
  d.param[1] = sigma;
  return d;
}

CAPRISK_HD inline Distribution make_triangular(double min, double mode, double max) {
  Distribution d = detail::make_distribution(DistKind::triangular, min, max);
  d.param[0] = min;
  d.param[1] = mode;
  d.param[2] = max;
  d.param[3] = (mode - min) / (max - min);  // CDF at the mode
  return d;
}

/// Beta on [lower, upper] with shapes a, b (PERT and beta share it).
CAPRISK_HD inline Distribution make_scaled_beta(DistKind kind, double a, double b, double lower,
                                                double upper) {
  Distribution d = detail::make_distribution(kind, lower, upper);
  d.param[0] = lower;
  d.param[1] = upper - lower;
  d.param[2] = a;
  d.param[3] = b;
  d.param[4] = log_beta(a, b);
  constexpr int knots = beta_table_steps - 1;
  for (int i = 0; i < knots; ++i) {
    const double x = incomplete_beta_inverse((i + 1.0) / beta_table_steps, a, b, d.param[4]);
    // dQ/du = 1 / density = B(a, b) / (x^(a-1) (1 - x)^(b-1))
    const double slope = exp(d.param[4] - (a - 1.0) * log(x) - (b - 1.0) * log1p(-x));
    if (!(x > 0.0 && x < 1.0 && slope < 1e300)) {  // degenerate shapes: no table
      for (double& value : d.table) value = 0.0;
      break;
    }
    d.table[i] = x;
    d.table[knots + i] = slope;
  }
  return d;
}

/// The table's guess for the standard beta's quantile at u, or -1 outside the outer knots
/// (or without a table): cubic Hermite between the two knots around u.
CAPRISK_HD inline double beta_table_guess(const Distribution& d, double u) {
  constexpr int knots = beta_table_steps - 1;
  const double position = u * beta_table_steps;  // knot i (from 0) sits at position i + 1
  if (!(position >= 1.0 && position < knots) || !(d.table[0] > 0.0)) return -1.0;
  const int j = static_cast<int>(position) - 1;  // between knots j and j + 1
  const double t = position - (j + 1);
  constexpr double h = 1.0 / beta_table_steps;
  const double t2 = t * t, t3 = t2 * t;
  return (2 * t3 - 3 * t2 + 1) * d.table[j] + (t3 - 2 * t2 + t) * h * d.table[knots + j] +
         (3 * t2 - 2 * t3) * d.table[j + 1] + (t3 - t2) * h * d.table[knots + j + 1];
}

/// Beta-PERT with lambda = 4.
CAPRISK_HD inline Distribution make_pert(double min, double mode, double max) {
  const double range = max - min;
  return make_scaled_beta(DistKind::pert, 1.0 + 4.0 * (mode - min) / range,
                          1.0 + 4.0 * (max - mode) / range, min, max);
}

CAPRISK_HD inline Distribution make_beta(double a, double b) {
  return make_scaled_beta(DistKind::beta, a, b, 0.0, 1.0);
}

/// Beta given its mean and sd; needs 0 < mean < 1 and sd^2 < mean (1 - mean).
CAPRISK_HD inline Distribution make_beta_mean_sd(double mean, double sd) {
  const double common = mean * (1.0 - mean) / (sd * sd) - 1.0;
  return make_beta(mean * common, (1.0 - mean) * common);
}

/// 1 with probability p, else 0.
CAPRISK_HD inline Distribution make_bernoulli(double p) {
  Distribution d = detail::make_distribution(DistKind::bernoulli, 0.0, 1.0);
  d.param[0] = p;
  return d;
}

// --- Quantile -----------------------------------------------------------------------------

/// Q(u) for u in (0, 1).
CAPRISK_HD inline double quantile(const Distribution& d, double u) {
  double x = 0.0;
  switch (d.kind) {
    case DistKind::fixed:
      return d.param[0];
    case DistKind::uniform:
      x = d.param[0] + u * d.param[1];
      break;
    case DistKind::normal:
      x = d.param[0] + d.param[1] * normal_quantile(d.param[2] + u * (d.param[3] - d.param[2]));
      break;
    case DistKind::lognormal:
      return std::exp(d.param[0] + d.param[1] * normal_quantile(u));
    case DistKind::triangular: {
      const double min = d.param[0], mode = d.param[1], max = d.param[2];
      x = u < d.param[3] ? min + std::sqrt(u * (max - min) * (mode - min))
                         : max - std::sqrt((1.0 - u) * (max - min) * (max - mode));
      break;
    }
    case DistKind::pert:
    case DistKind::beta:
      x = d.param[0] + d.param[1] * incomplete_beta_inverse(u, d.param[2], d.param[3], d.param[4],
                                                            beta_table_guess(d, u));
      break;
    case DistKind::bernoulli:
      return u > 1.0 - d.param[0] ? 1.0 : 0.0;
  }
  return min_of(max_of(x, d.lower), d.upper);
}

}  // namespace caprisk
