// Special functions behind the quantile functions and the copula: the normal CDF and its
// inverse, the regularized incomplete beta function and its inverse, and Student's t CDF.
// Shared by g++ and nvcc, so only C math functions that CUDA device code also provides.
#pragma once

#include <cmath>

#include "kernels/min_max.h"
#include "kernels/qualifiers.h"

namespace caprisk {

namespace detail {

/// Math in the working precision: on the host the unqualified C names take double only.
template <class T>
struct Math;

template <>
struct Math<float> {
  CAPRISK_HD static float exp(float v) { return ::expf(v); }
  CAPRISK_HD static float log(float v) { return ::logf(v); }
  CAPRISK_HD static float sqrt(float v) { return ::sqrtf(v); }
  CAPRISK_HD static float erf(float v) { return ::erff(v); }
  CAPRISK_HD static float erfc(float v) { return ::erfcf(v); }
  /// The smallest normal number: below it erfc loses relative precision, and a little further
  /// exp(x^2 / 2) in the quantile's refinement overflows.
  CAPRISK_HD static float refine_floor() { return 1.17549435e-38f; }
};

template <>
struct Math<double> {
  CAPRISK_HD static double exp(double v) { return ::exp(v); }
  CAPRISK_HD static double log(double v) { return ::log(v); }
  CAPRISK_HD static double sqrt(double v) { return ::sqrt(v); }
  CAPRISK_HD static double erf(double v) { return ::erf(v); }
  CAPRISK_HD static double erfc(double v) { return ::erfc(v); }
  CAPRISK_HD static double refine_floor() { return 2.2250738585072014e-308; }
};

constexpr double inv_sqrt2 = 0.70710678118654752440;
constexpr double sqrt_2pi = 2.50662827463100050242;

/// c[0] x^(N-1) + ... + c[N-1] by Horner's rule, in the precision of x.
template <class T, int N>
CAPRISK_HD inline T polynomial(const double (&c)[N], T x) {
  T sum = T(c[0]);
  for (int i = 1; i < N; ++i) sum = sum * x + T(c[i]);
  return sum;
}

/// Acklam's rational approximation to the lower half of the normal quantile, 0 < p <= 0.5;
/// relative error below 1.2e-9.
template <class T>
CAPRISK_HD inline T normal_quantile_lower_approx(T p) {
  if (p < T(0.02425)) {
    constexpr double num[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                              -2.400758277161838e+00, -2.549732539343734e+00,
                              4.374664141464968e+00,  2.938163982698783e+00};
    constexpr double den[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                              3.754408661907416e+00, 1.0};
    const T q = Math<T>::sqrt(T(-2) * Math<T>::log(p));
    return polynomial(num, q) / polynomial(den, q);
  }
  constexpr double num[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                            1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  constexpr double den[] = {-5.447609879822406e+01, 1.615858368580409e+02,  -1.556989798598866e+02,
                            6.680131188771972e+01,  -1.328068155288572e+01, 1.0};
  const T q = p - T(0.5);
  const T r = q * q;
  return polynomial(num, r) * q / polynomial(den, r);
}

/// Unrefined normal quantile: a cheap starting point for iterative inverses.
CAPRISK_HD inline double normal_quantile_approx(double u) {
  return u > 0.5 ? -normal_quantile_lower_approx(1.0 - u) : normal_quantile_lower_approx(u);
}

/// ln Gamma(v) for v > 0.
CAPRISK_HD inline double log_gamma(double v) {
#if defined(__CUDA_ARCH__) || !defined(__GLIBC__)
  return lgamma(v);
#else
  int sign = 0;
  return lgamma_r(v, &sign);  // glibc's lgamma writes the global signgam: a race across threads
#endif
}

/// Phi(x) = erfc(-x / sqrt 2) / 2 in double: erfc keeps both tails at relative precision.
CAPRISK_HD inline double normal_cdf_of(double x) {
  return 0.5 * erfc(-x * inv_sqrt2);
}

/// Phi(x) in float. The rounding of z = -x / sqrt 2 (relative 6e-8) is amplified 2 z^2-fold by
/// erfc in the lower tail (1e-5 at x = -12); a first-order correction from the exact rounding
/// error (fmaf) removes it, using d erfc / dz ~ -(2 z + 1 / z) erfc for z > 1.
CAPRISK_HD inline float normal_cdf_of(float x) {
  constexpr float hi = 0.70710677f;    // 1 / sqrt 2 rounded to float
  constexpr float lo = 1.2101617e-8f;  // 1 / sqrt 2 - hi
  const float z = -x * hi;
  const float c = erfcf(z);
  if (!(z > 1.0f && c > 0.0f)) return 0.5f * c;
  const float dz = fmaf(-x, hi, -z) - x * lo;
  return 0.5f * c * (1.0f - (2.0f * z + 1.0f / z) * dz);
}

}  // namespace detail

/// Standard normal CDF Phi(x), accurate to relative precision in both tails.
template <class T>
CAPRISK_HD inline T normal_cdf(T x) {
  return detail::normal_cdf_of(x);
}

/// Standard normal quantile Phi^-1(u) for u in (0, 1); -inf / +inf at or beyond the ends.
template <class T>
CAPRISK_HD inline T normal_quantile(T u) {
  using M = detail::Math<T>;
  if (u <= T(0)) return -T(INFINITY);
  if (u >= T(1)) return T(INFINITY);
  // Work in the lower half: 1 - u is exact for u >= 0.5, so the upper tail keeps full precision.
  const bool upper = u > T(0.5);
  const T p = upper ? T(1) - u : u;
  T x = detail::normal_quantile_lower_approx(p);
  if (p > M::refine_floor()) {
    // One Halley step on Phi(x) - p: cubic convergence takes 1e-9 to rounding level. Near the
    // centre Phi(x) - 1/2 = erf(x / sqrt 2) / 2 keeps the relative precision of a small x
    // (p - 1/2 is exact for p >= 1/4).
    const T z = x * T(detail::inv_sqrt2);
    const T e = p > T(0.25) ? T(0.5) * M::erf(z) - (p - T(0.5)) : T(0.5) * M::erfc(-z) - p;
    const T t = e * T(detail::sqrt_2pi) * M::exp(T(0.5) * x * x);
    x -= t / (T(1) + T(0.5) * x * t);
  }
  return upper ? -x : x;
}

/// ln B(a, b) for a, b > 0.
CAPRISK_HD inline double log_beta(double a, double b) {
  return detail::log_gamma(a) + detail::log_gamma(b) - detail::log_gamma(a + b);
}

namespace detail {

/// K in I_x(a, b) = x^a (1 - x)^b / (a B(a, b) K), K = 1 + d1 / (1 + d2 / (1 + ...)) with
/// d_{2m+1} = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)), d_{2m} = m (b-m) x / ((a+2m-1)(a+2m))
/// (DLMF 8.17.22); converges fast for x < (a+1)/(a+b+2). Written as d_n = p_n / q_n and
/// scaled to 1 + p_1 / (q_1 + q_1 p_2 / (q_2 + q_2 p_3 / ...)), it is evaluated by the
/// forward recurrence for numerators A_n and denominators B_n, renormalized every pair of
/// terms: one division per pair instead of Lentz's three per term (division is slow on GPUs).
CAPRISK_HD inline double beta_continued_fraction(double x, double a, double b) {
  constexpr double tolerance = 1e-15;
  constexpr int max_pairs = 1000;
  double num_2 = 1.0, num_1 = 1.0;  // A_{n-2}, A_{n-1}
  double den_2 = 0.0, den_1 = 1.0;  // B_{n-2}, B_{n-1}
  double q_prev = 1.0;
  double k = 1.0;
  for (int m = 0; m < max_pairs; ++m) {
    const double dm = m;
    for (int parity = 0; parity < 2; ++parity) {
      const double q =
          parity == 0 ? (a + 2 * dm) * (a + 2 * dm + 1) : (a + 2 * dm + 1) * (a + 2 * dm + 2);
      const double p = parity == 0 ? -(a + dm) * (a + b + dm) * x : (dm + 1) * (b - dm - 1) * x;
      const double coefficient = q_prev * p;
      const double num = q * num_1 + coefficient * num_2;
      const double den = q * den_1 + coefficient * den_2;
      num_2 = num_1;
      num_1 = num;
      den_2 = den_1;
      den_1 = den;
      q_prev = q;
    }
    if (fabs(den_1) < 1e-300) den_1 = 1e-300;  // never seen; keeps a zero from poisoning K
    const double scale = 1.0 / den_1;
    num_1 *= scale;
    num_2 *= scale;
    den_2 *= scale;
    den_1 = 1.0;
    const bool converged = fabs(num_1 - k) <= tolerance * fabs(num_1);
    k = num_1;
    if (converged) break;
  }
  return k;
}

/// I_x(a, b) and 1 - I_x(a, b) (the smaller one computed directly, so it keeps its relative
/// precision), front = x^a y^b / B(a, b), which gives the density front / (x y), and the
/// relative rounding error to expect in the smaller one.
struct BetaParts {
  double lower;
  double upper;
  double front;
  double rounding;
};

/// BetaParts at x with y = 1 - x passed separately, so callers that know y exactly keep it.
CAPRISK_HD inline BetaParts incomplete_beta_parts(double x, double y, double a, double b,
                                                  double log_beta_ab) {
  if (x <= 0.0) return {0.0, 1.0, 0.0, 0.0};
  if (y <= 0.0) return {1.0, 0.0, 0.0, 0.0};
  const double log_x = x < 0.5 ? log(x) : log1p(-y);
  const double log_y = y < 0.5 ? log(y) : log1p(-x);
  const double front = exp(a * log_x + b * log_y - log_beta_ab);
  // exp turns the absolute rounding of its argument into relative error in front.
  const double rounding = 2.3e-16 * (8.0 + fabs(a * log_x) + fabs(b * log_y) + fabs(log_beta_ab));
  if (x * (a + b + 2.0) < a + 1.0) {
    const double lower = front / (a * beta_continued_fraction(x, a, b));
    return {lower, 1.0 - lower, front, rounding};
  }
  const double upper = front / (b * beta_continued_fraction(y, b, a));  // I_y(b, a)
  return {1.0 - upper, upper, front, rounding};
}

}  // namespace detail

/// Regularized incomplete beta I_x(a, b) for x in [0, 1], a, b > 0; log_beta_ab = ln B(a, b).
CAPRISK_HD inline double incomplete_beta(double x, double a, double b, double log_beta_ab) {
  return detail::incomplete_beta_parts(x, 1.0 - x, a, b, log_beta_ab).lower;
}

/// I_x(a, b) when ln B(a, b) is not at hand.
CAPRISK_HD inline double incomplete_beta(double x, double a, double b) {
  return incomplete_beta(x, a, b, log_beta(a, b));
}

namespace detail {

/// Starting point for the inverse. In the tails, I_x = x^a / (a B) (1 + c x + O(x^2)) with
/// c = a (1 - b) / (a + 1), and its mirror image near 1, solved to first order in c x. Else
/// Abramowitz & Stegun 26.5.22 when both shapes are >= 1, or power laws at both ends scaled
/// to meet at the mean, clamped by the zeroth-order tail solutions, which bound the root.
CAPRISK_HD inline double incomplete_beta_inverse_guess(double u, double a, double b,
                                                       double log_beta_ab) {
  constexpr double below_one = 1.0 - 1.1102230246251565e-16;
  // The first-order solutions are off by ~ (c x / a)^2 relative, and need x < 1/2 for the
  // further terms of the series to fall off.
  const double x_0 = exp((log(u * a) + log_beta_ab) / a);
  const double c_0 = a * (1.0 - b) / (a + 1.0) * x_0;
  if (x_0 < 0.5 && fabs(c_0) < 0.1 * min_of(a, 1.0)) return x_0 * exp(-log1p(c_0) / a);
  const double y_1 = exp((log((1.0 - u) * b) + log_beta_ab) / b);
  const double c_1 = b * (1.0 - a) / (b + 1.0) * y_1;
  if (y_1 < 0.5 && fabs(c_1) < 0.1 * min_of(b, 1.0)) {
    return min_of(1.0 - y_1 * exp(-log1p(c_1) / b), below_one);
  }
  double x = -1.0;
  if (a >= 1.0 && b >= 1.0) {
    const double z = -normal_quantile_approx(u);
    const double lambda = (z * z - 3.0) / 6.0;
    const double ra = 1.0 / (2.0 * a - 1.0);
    const double rb = 1.0 / (2.0 * b - 1.0);
    const double h = 2.0 / (ra + rb);
    const double w = z * sqrt(h + lambda) / h - (rb - ra) * (lambda + 5.0 / 6.0 - 2.0 / (3.0 * h));
    x = a / (a + b * exp(2.0 * w));
  }
  if (!(x > 0.0 && x < 1.0)) {
    const double log_ab = log(a + b);
    const double log_t = a * (log(a) - log_ab) - log(a);  // lower tail mass up to the mean
    const double log_s = b * (log(b) - log_ab) - log(b);  // upper tail mass beyond it
    const double log_w = max_of(log_t, log_s) + log1p(exp(-fabs(log_t - log_s)));
    x = log(u) < log_t - log_w ? exp((log(u * a) + log_w) / a)
                               : 1.0 - exp((log((1.0 - u) * b) + log_w) / b);
  }
  // The zeroth-order solutions drop (1 - t)^(b-1) or t^(a-1) from the integrand, so each is
  // a lower or an upper bound on the root depending on whether b (or a) is above 1.
  const double x_1 = 1.0 - y_1;
  const double lower = max_of(b >= 1.0 ? x_0 : 0.0, a <= 1.0 ? x_1 : 0.0);
  const double upper = min_of(b <= 1.0 ? x_0 : 1.0, a >= 1.0 ? x_1 : 1.0);
  return min_of(min_of(max_of(x, lower), upper), below_one);
}

}  // namespace detail

/// x in [0, 1] with I_x(a, b) = u, for u in (0, 1) and a, b > 0; log_beta_ab = ln B(a, b).
/// Iterates on a bracket that shrinks every step. Far from the root, where I is a power or an
/// exponential of x over the distance left, a Newton step on ln I (ln(1 - I) for u >= 1/2);
/// near it, Householder's third-order step, the density's log-derivatives being closed-form.
/// A step that leaves the bracket becomes bisection. `guess`, when in (0, 1), replaces the
/// analytic starting point (a close one saves iterations; the root found is the same to
/// rounding).
CAPRISK_HD inline double incomplete_beta_inverse(double u, double a, double b, double log_beta_ab,
                                                 double guess = -1.0) {
  if (u <= 0.0) return 0.0;
  if (u >= 1.0) return 1.0;
  if (!(u == u)) return u;  // NaN
  constexpr int max_iterations = 60;
  const double v = 1.0 - u;
  const double target = min_of(u, v);  // the tail probability to match
  double lo = 0.0;
  double hi = 1.0;
  double x = guess > 0.0 && guess < 1.0
                 ? guess
                 : detail::incomplete_beta_inverse_guess(u, a, b, log_beta_ab);
  if (!(x > 1e-300)) return x;  // the root underflows; the guess is its tail asymptote
  for (int i = 0; i < max_iterations; ++i) {
    const double y = 1.0 - x;
    const detail::BetaParts r = detail::incomplete_beta_parts(x, y, a, b, log_beta_ab);
    // I - u from whichever side holds more precision.
    const double f = u < 0.5 ? r.lower - u : v - r.upper;
    if (fabs(f) <= r.rounding * target) return x;  // as close as rounding lets I tell
    if (f < 0.0) {
      lo = x;
    } else {
      hi = x;
    }
    if (hi - lo <= 2.3e-16 * hi) return x;  // adjacent doubles: nothing left to resolve
    const double tail = u < 0.5 ? r.lower : r.upper;
    const double log_ratio = log(tail / target);
    double next = -1.0;
    if (fabs(log_ratio) > 0.5) {
      // d ln I / d ln x = front / (y I) and d ln(1 - I) / d ln y = front / (x (1 - I)).
      if (r.front > 0.0) {
        next = u < 0.5 ? x * exp(-log_ratio * tail * y / r.front)
                       : 1.0 - y * exp(-log_ratio * tail * x / r.front);
      }
    } else {
      const double t = f * x * y / r.front;  // Newton step
      // h2 = I'' / I' and h3 = I''' / I' from ln I' = (a - 1) ln x + (b - 1) ln y - ln B.
      const double da = (a - 1.0) / x;
      const double db = (b - 1.0) / y;
      const double h2 = da - db;
      const double h3 = h2 * h2 - da / x - db / y;
      const double num = 1.0 - 0.5 * t * h2;
      const double den = 1.0 - t * h2 + t * t * h3 / 6.0;
      const double ratio = num / den;  // Householder step / Newton step
      const bool high_order = den > 0.0 && ratio > 0.25 && ratio < 4.0;
      next = x - (high_order ? t * ratio : t);
      const double step = fabs(next - x);
      // The step leaves an error ~ e^4 / L^3, e ~ step, with 1 / L^2 the size of the
      // log-derivatives: stop once that is below rounding rather than pay for a check.
      const double scale = min_of(x, y);
      const double inv_l2 = (fabs(da) / x + fabs(db) / y) / 6.0 + h2 * h2 / 12.0;
      if (step <= 1e-15 * scale ||
          (high_order && inv_l2 * sqrt(inv_l2) * step * step * step * step <= 1e-17 * scale)) {
        return next > lo && next < hi ? next : x;
      }
    }
    if (!(next > lo && next < hi)) {
      next = lo > 0.0 && hi > 64.0 * lo ? sqrt(lo * hi) : 0.5 * (lo + hi);
    }
    x = next;
  }
  return x;
}

namespace detail {

/// ln Gamma(a + 1/2) - ln Gamma(a) for a > 0. For large a the difference of two lgamma
/// values loses ~1e-16 ln Gamma(a) (4e-7 at a = 1e9); the difference of Stirling series,
/// a ln(1 + 1/(2a)) + ln(a) / 2 - 1/2 + sum_k c_k ((a + 1/2)^(1-2k) - a^(1-2k)), does not.
CAPRISK_HD inline double log_gamma_ratio_half(double a) {
  if (a < 16.0) return log_gamma(a + 0.5) - log_gamma(a);
  auto series = [](double r) {  // sum_k B_2k / (2k (2k - 1)) r^(2k-1), k = 1..5
    const double r2 = r * r;
    return r * (1.0 / 12 + r2 * (-1.0 / 360 + r2 * (1.0 / 1260 + r2 * (-1.0 / 1680 + r2 / 1188))));
  };
  return a * log1p(0.5 / a) + 0.5 * log(a) - 0.5 + series(1.0 / (a + 0.5)) - series(1.0 / a);
}

}  // namespace detail

/// CDF of Student's t with real df > 0. The tail beyond |t| is 1/2 I_{df/(df+t^2)}(df/2, 1/2),
/// returned directly for t < 0, so the small tail keeps its relative precision.
CAPRISK_HD inline double student_t_cdf(double t, double df) {
  const double t2 = t * t;
  if (t2 > 1.7976931348623157e308) return t > 0.0 ? 1.0 : 0.0;
  const double a = 0.5 * df;
  constexpr double log_gamma_half = 0.57236494292470008707;                     // ln sqrt(pi)
  const double log_beta_ab = log_gamma_half - detail::log_gamma_ratio_half(a);  // ln B(a, 1/2)
  const double tail =
      0.5 *
      detail::incomplete_beta_parts(df / (df + t2), t2 / (df + t2), a, 0.5, log_beta_ab).lower;
  return t > 0.0 ? 1.0 - tail : tail;
}

}  // namespace caprisk
