#include "host/reduce/tail_drivers.h"

#include <algorithm>
#include <cmath>

#include "host/errors.h"

namespace caprisk {

namespace {
/// Features of a path beyond its static draws: its short site-months bound by power, supply
/// and funding (codes 1 to 3).
constexpr int code_features = binding_code_count - 1;
constexpr int max_chain = 64;
}  // namespace

void DriverSums::add(const DriverSums& other) {
  paths += other.paths;
  for (std::size_t j = 0; j < statics.size(); ++j) statics[j] += other.statics[j];
  for (int c = 0; c < binding_code_count; ++c) binding[c] += other.binding[c];
}

TailDriver::TailDriver(int static_columns, std::vector<int> sites)
    : static_columns_(static_columns), sites_(std::move(sites)) {
  reset();
}

DriverSums TailDriver::empty_sums() const {
  DriverSums sums;
  sums.statics.assign(static_cast<std::size_t>(static_columns_), 0);
  return sums;
}

void TailDriver::clear_pass() {
  active_ = false;
  atom_ = false;
  chain_.clear();
  above_ = empty_sums();
  in_atom_ = empty_sums();
  kept_values_ = {};
  kept_features_ = {};
}

void TailDriver::reset() {
  resolved_ = false;
  result_ = empty_sums();
  threshold_ = 0;
  clear_pass();
}

void TailDriver::plan(const HistogramNode& root, std::uint64_t rank, std::uint64_t most_kept) {
  if (resolved_) return;
  clear_pass();
  const HistogramNode* node = &root;
  for (;;) {
    CAPRISK_EXPECTS(node->complete, "a tail's histogram planned before it was filled");
    int bin = 0;
    std::uint64_t within = 0;
    locate(*node, rank, bin, within);
    chain_.push_back(bin);
    if (node->minimum[bin] == node->maximum[bin]) {  // one value: every path there or none
      atom_ = true;
      active_ = true;
      return;
    }
    const auto child = node->children.find(bin);
    if (child == node->children.end()) {  // the pass keeps this bin's values: so does the tail
      CAPRISK_EXPECTS(node->counts[bin] <= most_kept,
                      "a tail's bin holds more values than any pass keeps");
      active_ = true;
      return;
    }
    if (!child->second->complete) {  // refined in the coming pass: plan after it
      chain_.clear();
      return;
    }
    CAPRISK_EXPECTS(static_cast<int>(chain_.size()) < max_chain, "a tail's histograms nest too deep");
    node = child->second.get();
    rank = within;
  }
}

int TailDriver::classify(const std::vector<const HistogramNode*>& nodes, double value) const {
  for (std::size_t level = 0; level < chain_.size(); ++level) {
    const int bin = nodes[level]->bin_of(value);
    if (bin != chain_[level]) return bin > chain_[level] ? 1 : -1;
  }
  return 0;
}

void TailDriver::features(const double* statics, const std::uint8_t* codes, std::uint64_t p,
                          std::uint64_t stride, PathLayout layout,
                          const std::vector<double>& bounds, std::int64_t* into) const {
  for (int j = 0; j < static_columns_; ++j)
    into[j] = static_quantum(statics[static_cast<std::uint64_t>(j) * stride + p],
                             bounds[static_cast<std::size_t>(j)]);
  std::int64_t* counts = into + static_columns_;
  for (int c = 0; c < code_features; ++c) counts[c] = 0;
  for (int site : sites_)
    for (int report = 0; report < layout.report_count; ++report) {
      const int code =
          codes[static_cast<std::uint64_t>(layout.binding(site, report)) * stride + p] & 3;
      if (code != binding_none) ++counts[code - 1];
    }
}

void TailDriver::add_features(DriverSums& sums, const std::int64_t* f) const {
  ++sums.paths;
  for (int j = 0; j < static_columns_; ++j) sums.statics[static_cast<std::size_t>(j)] += f[j];
  for (int c = 0; c < code_features; ++c)
    sums.binding[static_cast<std::size_t>(c + 1)] += static_cast<std::uint64_t>(f[static_columns_ + c]);
}

void TailDriver::add(const HistogramNode& root, const double* values, const double* statics,
                     const std::uint8_t* codes, std::uint64_t count, std::uint64_t stride,
                     PathLayout layout, const std::vector<double>& bounds) {
  if (!active_) return;
  std::vector<const HistogramNode*> nodes{&root};
  for (std::size_t level = 0; level + 1 < chain_.size(); ++level)
    nodes.push_back(nodes.back()->children.at(chain_[level]).get());
  const auto width = static_cast<std::size_t>(static_columns_ + code_features);
  std::vector<std::int64_t> f(width);
  for (std::uint64_t p = 0; p < count; ++p) {
    const double value = values[p];
    const int where = classify(nodes, value);
    if (where < 0) continue;
    features(statics, codes, p, stride, layout, bounds, f.data());
    if (where > 0) {
      add_features(above_, f.data());
    } else if (atom_) {
      add_features(in_atom_, f.data());
    } else {
      kept_values_.push_back(value);
      kept_features_.insert(kept_features_.end(), f.begin(), f.end());
    }
  }
}

void TailDriver::finish(double t) {
  CAPRISK_EXPECTS(active_, "finishing a tail that was not summed this pass");
  result_ = above_;
  if (atom_) {
    if (t > 0) result_.add(in_atom_);
  } else {
    const auto width = static_cast<std::size_t>(static_columns_ + code_features);
    for (std::size_t i = 0; i < kept_values_.size(); ++i)
      if (kept_values_[i] >= t && kept_values_[i] > 0)
        add_features(result_, kept_features_.data() + i * width);
  }
  threshold_ = t;
  resolved_ = true;
  clear_pass();
}

void TailDriver::merge(const TailDriver& other) {
  CAPRISK_EXPECTS(other.active_ == active_ && other.chain_ == chain_ && other.atom_ == atom_ &&
                      other.static_columns_ == static_columns_,
                  "merging tails with different plans");
  if (!active_) return;
  above_.add(other.above_);
  in_atom_.add(other.in_atom_);
  kept_values_.insert(kept_values_.end(), other.kept_values_.begin(), other.kept_values_.end());
  kept_features_.insert(kept_features_.end(), other.kept_features_.begin(),
                        other.kept_features_.end());
}

namespace {

void save_sums(binary::Writer& out, const DriverSums& sums) {
  out.put(sums.paths);
  out.put_vector(sums.statics);
  out.put(sums.binding);
}

DriverSums load_sums(binary::Reader& in, int columns, std::uint64_t paths) {
  DriverSums sums;
  sums.paths = in.get<std::uint64_t>("a tail's path count");
  sums.statics = in.get_vector<Int128>("a tail's sums", static_cast<std::uint64_t>(columns));
  sums.binding = in.get<std::array<std::uint64_t, binding_code_count>>("a tail's binding counts");
  if (sums.paths > paths || sums.statics.size() != static_cast<std::size_t>(columns))
    in.corrupt("a tail's sums do not match the run's paths or static draws");
  const Int128 most = static_cast<Int128>(sums.paths) * ((Int128{1} << 40) + 1);
  for (Int128 s : sums.statics)
    if (s > most || s < -most) in.corrupt("a tail's sums are impossible for its path count");
  return sums;
}

}  // namespace

void TailDriver::save(binary::Writer& out) const {
  out.put_flag(resolved_);
  save_sums(out, result_);
  out.put(threshold_);
  out.put_flag(active_);
  out.put_flag(atom_);
  out.put_vector(chain_);
  save_sums(out, above_);
  save_sums(out, in_atom_);
  out.put_vector(kept_values_);
  out.put_vector(kept_features_);
}

void TailDriver::load(binary::Reader& in, const HistogramNode& root, std::uint64_t paths,
                      std::uint64_t most_kept) {
  resolved_ = in.get_flag("a tail's resolved flag");
  result_ = load_sums(in, static_columns_, paths);
  threshold_ = in.get<double>("a tail's threshold");
  active_ = in.get_flag("a tail's active flag");
  atom_ = in.get_flag("a tail's atom flag");
  chain_ = in.get_vector<int>("a tail's bins", max_chain);
  above_ = load_sums(in, static_columns_, paths);
  in_atom_ = load_sums(in, static_columns_, paths);
  kept_values_ = in.get_vector<double>("a tail's kept values", most_kept);
  const auto width = static_cast<std::uint64_t>(static_columns_ + code_features);
  kept_features_ = in.get_vector<std::int64_t>("a tail's kept features", most_kept * width);
  if (!std::isfinite(threshold_) || threshold_ < 0 ||
      kept_features_.size() != kept_values_.size() * width || (active_ && chain_.empty()) ||
      (!active_ && (!kept_values_.empty() || above_.paths > 0 || in_atom_.paths > 0)) ||
      (resolved_ && active_))
    in.corrupt("a tail's plan and sums do not agree");
  // The plan must follow the histograms: every bin in range, every level but the last refined.
  const HistogramNode* node = &root;
  for (std::size_t level = 0; level < chain_.size(); ++level) {
    const int bin = chain_[level];
    if (!node->complete || bin < 0 || bin >= node->bins)
      in.corrupt("a tail's bins do not follow its cell's histograms");
    if (level + 1 == chain_.size()) break;
    const auto child = node->children.find(bin);
    if (child == node->children.end() || !child->second->complete)
      in.corrupt("a tail's bins do not follow its cell's histograms");
    node = child->second.get();
  }
}

}  // namespace caprisk
