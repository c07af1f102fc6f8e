// The correlation matrix's factor for the copula (docs/MODEL.md, "Correlation").
#pragma once

#include <vector>

namespace caprisk {

/// Lower-triangular L with L L^T = matrix for a symmetric positive semidefinite matrix;
/// returns false when it is not positive semidefinite.
bool cholesky_psd(const std::vector<std::vector<double>>& matrix, std::vector<double>& lower);

}  // namespace caprisk
