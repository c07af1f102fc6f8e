#include "host/run/variants.h"

#include <cmath>
#include <utility>

#include "host/errors.h"

namespace caprisk {

ReductionSpec stacked_spec(const std::vector<const FlatScenario*>& variants) {
  CAPRISK_EXPECTS(!variants.empty(), "a stacked spec of no variants");
  const ReductionSpec& base = variants.front()->reduction_spec();
  ReductionSpec spec;
  spec.layout = base.layout;
  spec.percentiles = base.percentiles;
  spec.group_sites = base.group_sites;
  spec.variants = static_cast<int>(variants.size());
  spec.difference_blocks = spec.variants - 1;
  const auto cells = static_cast<std::size_t>(base.layout.value_count());
  for (const FlatScenario* variant : variants) {
    const ReductionSpec& own = variant->reduction_spec();
    CAPRISK_EXPECTS(own.upper.size() == cells && own.layout.site_count == base.layout.site_count &&
                        own.layout.report_count == base.layout.report_count &&
                        own.layout.group_count == base.layout.group_count,
                    "stacking variants of different layouts");
    spec.upper.insert(spec.upper.end(), own.upper.begin(), own.upper.end());
  }
  for (std::size_t v = 1; v < variants.size(); ++v)
    for (std::size_t c = 0; c < cells; ++c)
      spec.upper.push_back(base.upper[c] + variants[v]->reduction_spec().upper[c]);
  return spec;
}

ChunkSimulator stacked_simulator(std::vector<ChunkSimulator> variants, const ReductionSpec& spec) {
  CAPRISK_EXPECTS(static_cast<int>(variants.size()) == spec.variants,
                  "a stacked simulator needs one simulator per variant");
  const PathLayout layout = spec.layout;
  std::vector<double> offsets(spec.upper.begin(), spec.upper.begin() + layout.value_count());
  return [variants = std::move(variants), layout, offsets = std::move(offsets)](
             std::uint64_t first, std::uint64_t count, const PathOutput& out) {
    const auto value_block = static_cast<std::uint64_t>(layout.value_count()) * out.stride;
    const auto code_block = static_cast<std::uint64_t>(layout.code_count()) * out.stride;
    for (std::size_t v = 0; v < variants.size(); ++v)
      variants[v](first, count,
                  PathOutput{out.values + v * value_block, out.codes + v * code_block, out.stride,
                             v == 0 ? out.statics : nullptr});  // the base's draws
    const double* base = out.values;
    for (std::size_t s = 1; s < variants.size(); ++s)
      write_differences(out.values + s * value_block, out.stride, base, out.stride,
                        out.values + (variants.size() - 1 + s) * value_block, out.stride, count,
                        offsets);
  };
}

void write_differences(const double* varied, std::uint64_t varied_stride, const double* base,
                       std::uint64_t base_stride, double* difference,
                       std::uint64_t difference_stride, std::uint64_t count,
                       const std::vector<double>& offsets) {
  for (std::size_t c = 0; c < offsets.size(); ++c) {
    const double* v = varied + c * varied_stride;
    const double* b = base + c * base_stride;
    double* out = difference + c * difference_stride;
    const double offset = offsets[c];
    // U + d: never below 0 nor above the cell's bound U + the varied bound (v - b rounds to
    // within [-b, v], and rounding is monotone), and exactly U when d = 0.
    for (std::uint64_t p = 0; p < count; ++p) {
      const double d = v[p] - b[p];
      out[p] = offset + (std::abs(d) <= kNoChange ? 0.0 : d);
    }
  }
}

RunResults variant_results(const RunResults& stacked, const ReductionSpec& spec, int v) {
  CAPRISK_EXPECTS(v >= 0 && v < spec.variants, "no such variant");
  const PathLayout layout = spec.layout;
  RunResults results;
  results.layout = layout;
  results.paths = stacked.paths;
  const auto cells = static_cast<std::size_t>(layout.value_count());
  const auto binding = static_cast<std::size_t>(layout.site_count * layout.report_count);
  const auto sites = static_cast<std::size_t>(layout.site_count);
  const auto at = static_cast<std::size_t>(v);
  results.cells.assign(stacked.cells.begin() + at * cells, stacked.cells.begin() + (at + 1) * cells);
  results.binding_counts.assign(stacked.binding_counts.begin() + at * binding,
                                stacked.binding_counts.begin() + (at + 1) * binding);
  results.censored_counts.assign(stacked.censored_counts.begin() + at * sites,
                                 stacked.censored_counts.begin() + (at + 1) * sites);
  if (v == 0) {  // kept of the base only
    results.worst_paths = stacked.worst_paths;
    results.static_mean = stacked.static_mean;
    results.static_sd = stacked.static_sd;
    results.drivers = stacked.drivers;
  }
  return results;
}

std::vector<PairedDifference> paired_differences(const RunResults& stacked,
                                                 const ReductionSpec& spec, int stress) {
  CAPRISK_EXPECTS(stress >= 1 && stress < spec.variants, "no such stress");
  return difference_block(stacked, spec, stress - 1);
}

std::vector<PairedDifference> difference_block(const RunResults& stacked,
                                               const ReductionSpec& spec, int k) {
  CAPRISK_EXPECTS(k >= 0 && k < spec.difference_blocks, "no such difference block");
  const auto cells = static_cast<std::size_t>(spec.layout.value_count());
  const std::size_t block = static_cast<std::size_t>(spec.variants + k) * cells;
  const double root_n = std::sqrt(static_cast<double>(stacked.paths));
  std::vector<PairedDifference> differences(cells);
  for (std::size_t c = 0; c < cells; ++c) {
    const CellStatistics& cell = stacked.cells[block + c];
    PairedDifference& d = differences[c];
    d.mean = cell.mean;  // the reducer took off the offset the simulator added
    d.sd = cell.sd;
    d.p_positive = cell.p_positive;
    const double half_width = 1.959963984540054 * cell.sd / root_n;
    d.ci_low = d.mean - half_width;
    d.ci_high = d.mean + half_width;
  }
  return differences;
}

}  // namespace caprisk
