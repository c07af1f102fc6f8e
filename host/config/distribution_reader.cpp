// Reading one uncertain input: a number, or a distribution mapping whose parameters and
// support are checked (docs/CONFIG.md, "Distributions"; docs/MODEL.md, "Uncertain inputs").
#include <algorithm>
#include <cmath>
#include <map>

#include "host/config/yaml_reader.h"

namespace caprisk {

using namespace config_limits;
namespace {

/// One distribution mapping being read: its node, field and the reader to fail through.
struct Fields {
  const Reader& r;
  const YAML::Node& node;
  const std::string& field;

  double param(const std::string& key) const {
    return r.number(r.require(node, field, key), Reader::join(field, key), any_real);
  }
  bool has(const std::string& key) const { return static_cast<bool>(node[key]); }
  YAML::Node at(const std::string& key) const { return node[key]; }
  [[noreturn]] void fail_at(const std::string& key, const std::string& message) const {
    r.fail(at(key), Reader::join(field, key), message);
  }
  [[noreturn]] void fail(const std::string& message) const { r.fail(node, field, message); }
};

Distribution read_normal(const Fields& f, const Range& range, const std::string& support) {
  const double mean = f.param("mean"), sd = f.param("sd");
  if (!(sd > 0)) f.fail_at("sd", "must be > 0, got " + f.at("sd").Scalar());
  const double lower = f.has("min") ? f.param("min") : -infinity;
  const double upper = f.has("max") ? f.param("max") : infinity;
  if (!(upper > lower)) f.fail_at("max", "must be greater than min");
  // Truncation so far out that no probability is left would make Q(u) meaningless.
  if (normal_cdf((upper - mean) / sd) - normal_cdf((lower - mean) / sd) < 1e-9)
    f.fail("the bounds [min, max] leave no probability mass around the mean");
  if (std::isinf(lower) && std::isfinite(range.min))
    f.fail(support + ": add 'min' to truncate the normal");
  if (std::isinf(upper) && std::isfinite(range.max))
    f.fail(support + ": add 'max' to truncate the normal");
  return make_normal(mean, sd, lower, upper);
}

Distribution read_lognormal(const Fields& f) {
  if (f.has("median") || f.has("p90")) {
    if (f.has("mu") || f.has("sigma"))
      f.fail("give either median and p90, or mu and sigma, not both");
    const double median = f.param("median"), p90 = f.param("p90");
    if (!(median > 0)) f.fail_at("median", "must be > 0");
    if (!(p90 > median)) f.fail_at("p90", "must be greater than median");
    const double mu = std::log(median);
    return make_lognormal(mu, (std::log(p90) - mu) / 1.2815515655446004);  // z of the P90
  }
  const double mu = f.param("mu"), sigma = f.param("sigma");
  if (!(sigma > 0)) f.fail_at("sigma", "must be > 0");
  return make_lognormal(mu, sigma);
}

Distribution read_min_mode_max(const Fields& f, bool pert) {
  const double min = f.param("min"), mode = f.param("mode"), max = f.param("max");
  if (!(max > min)) f.fail_at("max", "must be greater than min");
  if (mode < min || mode > max)
    f.fail_at("mode", "must lie in [min, max] = [" + f.at("min").Scalar() + ", " +
                          f.at("max").Scalar() + "]");
  return pert ? make_pert(min, mode, max) : make_triangular(min, mode, max);
}

Distribution read_beta(const Fields& f) {
  const std::string too_concentrated =
      "beyond which the sampler cannot resolve the distribution; use a fixed value, or a "
      "normal with min and max";
  if (f.has("mean") || f.has("sd")) {
    if (f.has("a") || f.has("b")) f.fail("give either mean and sd, or a and b");
    const double mean = f.param("mean"), sd = f.param("sd");
    if (!(mean > 0 && mean < 1)) f.fail_at("mean", "must be in (0, 1), got " + f.at("mean").Scalar());
    if (!(sd > 0)) f.fail_at("sd", "must be > 0");
    if (!(sd * sd < mean * (1 - mean)))
      f.fail_at("sd", "too large for the mean: a beta needs sd < sqrt(mean (1 - mean)) = " +
                          Range::format(std::sqrt(mean * (1 - mean))));
    const double concentration = mean * (1 - mean) / (sd * sd) - 1;  // a + b
    if (!(concentration <= max_beta_concentration))
      f.fail_at("sd", "too small for a beta: it needs sd >= " +
                          Range::format(std::sqrt(mean * (1 - mean) /
                                                  (max_beta_concentration + 1))) +
                          " at this mean (a + b at most 1e10, " + too_concentrated + ")");
    return make_beta_mean_sd(mean, sd);
  }
  const double a = f.param("a"), b = f.param("b");
  if (!(a > 0)) f.fail_at("a", "must be > 0");
  if (!(b > 0)) f.fail_at("b", "must be > 0");
  if (!(a + b <= max_beta_concentration))
    f.fail("a + b = " + Range::format(a + b) + " is too large: at most 1e10, " + too_concentrated);
  return make_beta(a, b);
}

/// The whole support must lie in the field's range, and every value the sampler can draw
/// within its size cap. A lognormal never reaches its lower end 0, so it satisfies "> 0";
/// against a positive minimum, and against the cap, what counts is what can be drawn.
void check_support(const Fields& f, const Distribution& d, const Range& range,
                   const std::string& kind, const std::string& support) {
  const bool open_lower = d.kind == DistKind::lognormal;
  const double lowest = quantile(d, lowest_uniform);
  const double highest = quantile(d, highest_uniform);
  const double lower = open_lower && range.min > 0 ? lowest : d.lower;
  const bool below = range.min_exclusive && !(open_lower && range.min > 0)
                         ? !(open_lower || lower > range.min)
                         : !(lower >= range.min);
  if (below || !(d.upper <= range.max))
    f.fail(support + ", but this " + kind + " ranges over " + (open_lower ? "(" : "[") +
           Range::format(d.lower) + ", " + Range::format(d.upper) +
           (std::isinf(d.upper) ? ")" : "]"));
  if (!(std::fabs(lowest) <= range.cap && std::fabs(highest) <= range.cap))
    f.fail("the distribution's values must all be at most " + Range::format(range.cap) +
           " in size, but this " + kind + " can draw " +
           Range::format(std::fabs(lowest) > std::fabs(highest) ? lowest : highest) +
           " (at u = 2^-33 or 1 - 2^-33, the sampler's extreme uniforms)");
}

/// `factor` and `sign`: which copula factor drives the input, and from which side.
void attach_factor(const Fields& f, Distribution& d, const std::vector<std::string>* factors) {
  if (f.has("factor")) {
    if (factors == nullptr)
      f.fail_at("factor", "a factor is not allowed here: this value is drawn afresh for every event");
    const std::string name = f.r.text(f.at("factor"), Reader::join(f.field, "factor"));
    const auto it = std::find(factors->begin(), factors->end(), name);
    if (it == factors->end()) {
      std::string listing;
      for (const auto& factor : *factors) listing += (listing.empty() ? "" : ", ") + factor;
      f.fail_at("factor", "unknown factor '" + name + "'; correlation.factors lists: " +
                              (listing.empty() ? "(none)" : listing));
    }
    d.factor = static_cast<std::int16_t>(it - factors->begin());
  }
  if (f.has("sign")) {
    if (!f.has("factor")) f.fail_at("sign", "'sign' needs a 'factor'");
    const long long sign = f.r.integer(f.at("sign"), Reader::join(f.field, "sign"), -1, 1);
    if (sign == 0) f.fail_at("sign", "must be 1 or -1");
    d.sign = static_cast<std::int8_t>(sign);
  }
}

}  // namespace

Distribution Reader::distribution(const YAML::Node& node, const std::string& field,
                                  const Range& range,
                                  const std::vector<std::string>* factors) const {
  if (node.IsScalar()) return make_fixed(number(node, field, range));
  if (!node.IsMap())
    fail(node, field,
         "expected a number or a distribution mapping like {dist: pert, min: .., mode: .., "
         "max: ..}, got " +
             kind_name(node));
  const YAML::Node kind_node = require(node, field, "dist");
  const std::string kind = text(kind_node, join(field, "dist"));
  static const std::map<std::string, std::vector<std::string>> keys_of = {
      {"fixed", {"value"}},
      {"uniform", {"min", "max"}},
      {"normal", {"mean", "sd", "min", "max"}},
      {"lognormal", {"median", "p90", "mu", "sigma"}},
      {"triangular", {"min", "mode", "max"}},
      {"pert", {"min", "mode", "max"}},
      {"beta", {"mean", "sd", "a", "b"}},
      {"bernoulli", {"p"}},
  };
  const auto found = keys_of.find(kind);
  if (found == keys_of.end())
    fail(kind_node, join(field, "dist"),
         "unknown distribution '" + kind +
             "'; expected one of fixed, uniform, normal, lognormal, triangular, pert, beta, "
             "bernoulli");
  std::vector<std::string> allowed = found->second;
  allowed.insert(allowed.end(), {"dist", "factor", "sign"});
  check_keys(node, field, allowed);

  const Fields f{*this, node, field};
  const std::string support = "the distribution's values must all be " + range.describe();
  Distribution d;
  if (kind == "fixed") {
    d = make_fixed(number(require(node, field, "value"), join(field, "value"), range));
  } else if (kind == "uniform") {
    const double min = f.param("min"), max = f.param("max");
    if (!(max > min)) f.fail_at("max", "must be greater than min");
    d = make_uniform(min, max);
  } else if (kind == "normal") {
    d = read_normal(f, range, support);
  } else if (kind == "lognormal") {
    d = read_lognormal(f);
  } else if (kind == "triangular" || kind == "pert") {
    d = read_min_mode_max(f, kind == "pert");
  } else if (kind == "beta") {
    d = read_beta(f);
  } else {  // bernoulli
    d = make_bernoulli(number(require(node, field, "p"), join(field, "p"), fraction));
  }
  if (kind != "fixed") check_support(f, d, range, kind, support);
  attach_factor(f, d, factors);
  return d;
}

Distribution Reader::event(const YAML::Node& node, const std::string& field,
                           const std::vector<std::string>& factors) const {
  if (node.IsScalar()) return make_bernoulli(number(node, field, fraction));
  if (node.IsMap() && node["dist"] && node["dist"].IsScalar() &&
      node["dist"].Scalar() != "bernoulli")
    fail(node["dist"], join(field, "dist"),
         "a probability is a number in [0, 1] or {dist: bernoulli, p: ...}");
  return distribution(node, field, fraction, &factors);
}

}  // namespace caprisk
