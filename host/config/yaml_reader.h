// The YAML side of the config reader: a Reader that walks yaml-cpp's tree and fails with the
// file, line, column and field path of what it did not accept, the ranges and size limits
// every value is checked against (docs/CONFIG.md, "Limits"), and the whole-file checks.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "host/config/config.h"
#include "host/config/scenario.h"
#include "host/errors.h"

namespace caprisk {

inline constexpr double infinity = std::numeric_limits<double>::infinity();

/// Which values a field accepts; a distribution's whole support must lie inside it. `cap`
/// bounds the size of every value (|x| <= cap), so that no finite input can overflow the model
/// or the tables to inf or nan (docs/CONFIG.md, "Limits").
struct Range {
  double min = -infinity;
  double max = infinity;
  bool min_exclusive = false;
  double cap = infinity;
  std::string describe() const {
    std::string text;
    if (min == 0 && max == 1) return "in [0, 1]";
    if (std::isfinite(min) && std::isfinite(max))
      return "in [" + format(min) + ", " + format(max) + "]";
    if (std::isfinite(min)) text = (min_exclusive ? "> " : ">= ") + format(min);
    if (std::isfinite(cap))
      text += text.empty() ? "in [" + format(-cap) + ", " + format(cap) + "]"
                           : " and at most " + format(cap);
    return text;
  }
  bool contains(double x) const {
    return std::isfinite(x) && (min_exclusive ? x > min : x >= min) && x <= max &&
           std::fabs(x) <= cap;
  }
  static std::string format(double x) {
    std::ostringstream out;
    out << x;
    return out.str();
  }
};

/// The ranges and limits of docs/CONFIG.md, "Limits" (a namespace of their own: short names).
namespace config_limits {

// The size limits of docs/CONFIG.md, "Limits": far beyond any real build-out, small enough
// that sums over 1200 months, 64 sites and 16 suppliers stay finite.
inline constexpr double max_gw = 1e5;        // 100 TW
inline constexpr double max_months = 1e9;    // delays, lead times, time constants
inline constexpr double max_wafers = 1e9;    // per month and supplier
inline constexpr double max_usd_b = 1e7;     // USD billions
inline constexpr double max_per_year = 1e6;  // event rates and hazards
inline constexpr double max_count = 1e4;     // stacks per wafer / accelerator, capacity factors

inline const Range any_real{};
inline const Range fraction{0, 1};
inline const Range gw{0, infinity, false, max_gw};
inline const Range months{-infinity, infinity, false, max_months};
inline const Range months_non_negative{0, infinity, false, max_months};
inline const Range months_positive{0, infinity, true, max_months};
inline const Range wafers{0, infinity, false, max_wafers};
inline const Range usd_b{0, infinity, false, max_usd_b};
inline const Range per_year{0, infinity, false, max_per_year};
inline const Range count{0, infinity, false, max_count};
inline const Range stacks_per_accelerator{0.01, infinity, false, max_count};
inline const Range kw{0, infinity, false, 1e5};
inline const Range capex{1e-3, infinity, false, 1e6};

/// Lists longer than these are refused with their length and the limit.
inline constexpr std::size_t max_schedule_points = 2400;
inline constexpr std::size_t max_percentiles = 100;
inline constexpr std::size_t max_name_bytes = 200;
/// Beyond this a + b, the incomplete-beta inversion can no longer resolve the distribution
/// in double precision (measured against a skew-corrected normal: under 1e-4 sd of error up
/// to 2.5e10, 6e-4 sd at 2.5e11, 0.1 sd at 2.5e13; tests/distributions_test.cpp).
inline constexpr double max_beta_concentration = 1e10;

/// The sampler's uniforms lie in [2^-33, 1 - 2^-33] (docs/MODEL.md, "Randomness"), so these
/// give the extreme values a distribution can produce.
inline constexpr double lowest_uniform = 1.1641532182693481e-10;
inline constexpr double highest_uniform = 1.0 - 1.1641532182693481e-10;

}  // namespace config_limits

/// Why `text` is not a good name (valid UTF-8, printable, short), or "" when it is one.
std::string name_problem(const std::string& text);

/// Levenshtein distance, for "did you mean".
std::size_t edit_distance(const std::string& a, const std::string& b);

/// " (did you mean 'x'?)" for the closest of `names` within two edits of `wrong` (else the
/// only one that starts with it), or "".
std::string did_you_mean(const std::string& wrong, const std::vector<std::string>& names);

/// The YAML document of a config's text, after the whole-file checks (NUL bytes, CR-only line
/// ends, nesting, a second document); ConfigError naming the file otherwise.
YAML::Node parse_yaml_document(const std::string& text, const std::string& file);

/// Walks the YAML tree, keeping the file name for messages.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& field,
                         const std::string& message) const {
    const YAML::Mark mark = at.IsDefined() ? at.Mark() : YAML::Mark::null_mark();
    throw ConfigError(file_, mark.is_null() ? 0 : mark.line + 1,
                      mark.is_null() ? 0 : mark.column + 1, field, message);
  }

  static std::string with_space(const std::string& text) {
    return text.empty() ? text : " " + text;
  }

  /// A scalar as it may appear in a message: short, printable.
  static std::string quote(const std::string& text);

  static std::string kind_name(const YAML::Node& node);

  void expect_map(const YAML::Node& node, const std::string& field) const {
    if (!node.IsMap()) fail(node, field, "expected a mapping of keys, got " + kind_name(node));
  }

  void expect_list(const YAML::Node& node, const std::string& field) const {
    if (!node.IsSequence()) fail(node, field, "expected a list, got " + kind_name(node));
  }

  /// Rejects keys not in `allowed` (with a suggestion) and duplicated keys.
  void check_keys(const YAML::Node& map, const std::string& field,
                  const std::vector<std::string>& allowed) const;

  YAML::Node require(const YAML::Node& map, const std::string& field,
                     const std::string& key) const {
    const YAML::Node node = map[key];
    if (!node) fail(map, join(field, key), "missing required key '" + key + "'");
    return node;
  }

  static std::string join(const std::string& field, const std::string& key) {
    return field.empty() ? key : field + "." + key;
  }

  static std::string index(const std::string& field, std::size_t i) {
    return field + "[" + std::to_string(i) + "]";
  }

  double number(const YAML::Node& node, const std::string& field, const Range& range) const;

  long long integer(const YAML::Node& node, const std::string& field, long long min,
                    long long max) const;

  /// A seed: any whole number in [0, 2^64 - 1].
  std::uint64_t seed(const YAML::Node& node, const std::string& field) const;

  std::string text(const YAML::Node& node, const std::string& field) const {
    if (!node.IsScalar() || node.Scalar().empty())
      fail(node, field, "expected a non-empty name, got " + kind_name(node));
    return node.Scalar();
  }

  /// A name that reaches outputs, file names and terminals: text() that is also valid UTF-8,
  /// printable and at most max_name_bytes long.
  std::string name(const YAML::Node& node, const std::string& field) const {
    std::string value = text(node, field);
    const std::string problem = name_problem(value);
    if (!problem.empty()) fail(node, field, "the name " + quote(value) + " " + problem);
    return value;
  }

  YearMonth month(const YAML::Node& node, const std::string& field) const {
    YearMonth result;
    if (!node.IsScalar() || !parse_year_month(node.Scalar(), result))
      fail(node, field, "expected a month as YYYY-MM (e.g. 2026-01), got " + kind_name(node));
    return result;
  }

  int month_index(const YAML::Node& node, const std::string& field, YearMonth start) const {
    return month(node, field).index_from(start);
  }

  /// [[YYYY-MM, value], ...] with strictly increasing months.
  Schedule schedule(const YAML::Node& node, const std::string& field, YearMonth start,
                    const Range& range) const;

  /// A distribution (or a plain number, meaning fixed) whose support must lie in `range`.
  /// `factors` is empty where a copula factor is not allowed (per-event draws).
  Distribution distribution(const YAML::Node& node, const std::string& field, const Range& range,
                            const std::vector<std::string>* factors) const;

  /// An event probability: a number p in [0, 1], or a bernoulli distribution (to tie it to a
  /// factor).
  Distribution event(const YAML::Node& node, const std::string& field,
                     const std::vector<std::string>& factors) const;

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

}  // namespace caprisk
