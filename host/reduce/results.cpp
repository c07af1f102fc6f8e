#include "host/reduce/results.h"

#include <omp.h>

#include <span>

namespace caprisk {

SampleStore::SampleStore(PathLayout layout, std::uint64_t paths)
    : layout_(layout),
      paths_(paths),
      values_(static_cast<std::size_t>(layout.value_count()) * paths),
      codes_(static_cast<std::size_t>(layout.code_count()) * paths) {}

RunResults reduce(SampleStore& samples, const std::vector<double>& percentiles, int threads) {
  const PathLayout layout = samples.layout();
  const std::uint64_t n = samples.paths();
  RunResults results;
  results.layout = layout;
  results.paths = n;
  results.cells.resize(static_cast<std::size_t>(layout.value_count()));
  const int thread_count = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for num_threads(thread_count) schedule(dynamic, 1)
  for (int cell = 0; cell < layout.value_count(); ++cell)
    results.cells[cell] = summarize(std::span<double>(samples.column(cell), n), percentiles);

  results.binding_counts.assign(static_cast<std::size_t>(layout.site_count * layout.report_count),
                                std::array<std::uint64_t, binding_code_count>{});
  for (int site = 0; site < layout.site_count; ++site) {
    for (int report = 0; report < layout.report_count; ++report) {
      auto& counts = results.binding_counts[layout.binding(site, report)];
      const std::uint8_t* codes = samples.codes(layout.binding(site, report));
      for (std::uint64_t p = 0; p < n; ++p) ++counts[codes[p]];
    }
  }
  results.censored_counts.assign(static_cast<std::size_t>(layout.site_count), 0);
  for (int site = 0; site < layout.site_count; ++site) {
    const std::uint8_t* codes = samples.codes(layout.censored(site));
    for (std::uint64_t p = 0; p < n; ++p) results.censored_counts[site] += codes[p];
  }
  return results;
}

}  // namespace caprisk
