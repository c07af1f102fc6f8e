#include "host/config/cholesky.h"

#include <cmath>
#include <cstddef>

namespace caprisk {

bool cholesky_psd(const std::vector<std::vector<double>>& matrix, std::vector<double>& lower) {
  // Semidefinite Cholesky: a (numerically) zero pivot zeroes its column, which is consistent
  // only when the remaining entries of that column are zero too (e.g. perfectly correlated
  // factors); anything else is not positive semidefinite.
  const std::size_t k = matrix.size();
  constexpr double tolerance = 1e-10;
  lower.assign(k * k, 0.0);
  for (std::size_t j = 0; j < k; ++j) {
    double pivot = matrix[j][j];
    for (std::size_t m = 0; m < j; ++m) pivot -= lower[j * k + m] * lower[j * k + m];
    if (pivot < -tolerance) return false;
    const double diagonal = pivot > tolerance ? std::sqrt(pivot) : 0.0;
    lower[j * k + j] = diagonal;
    for (std::size_t i = j + 1; i < k; ++i) {
      double entry = matrix[i][j];
      for (std::size_t m = 0; m < j; ++m) entry -= lower[i * k + m] * lower[j * k + m];
      if (diagonal == 0.0) {
        if (std::fabs(entry) > 1e-8) return false;
      } else {
        lower[i * k + j] = entry / diagonal;
      }
    }
  }
  return true;
}

}  // namespace caprisk
