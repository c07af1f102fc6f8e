// Scenario config reader: YAML -> validated Scenario. Every check names the file, the line and
// column (from yaml-cpp's marks) and the field path, and says what was expected.
#include "host/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

namespace caprisk {

YearMonth YearMonth::plus(int months) const {
  const int total = year * 12 + (month - 1) + months;
  const int y = total >= 0 ? total / 12 : -((-total + 11) / 12);
  return YearMonth{y, total - y * 12 + 1};
}

std::string YearMonth::str() const {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d", year, month);
  return buffer;
}

bool parse_year_month(const std::string& text, YearMonth& out) {
  if (text.size() != 7 || text[4] != '-') return false;
  for (int i : {0, 1, 2, 3, 5, 6})
    if (text[i] < '0' || text[i] > '9') return false;
  out.year = std::stoi(text.substr(0, 4));
  out.month = std::stoi(text.substr(5, 2));
  return out.month >= 1 && out.month <= 12 && out.year >= 1900 && out.year <= 2999;
}

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

namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();

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

// The size limits of docs/CONFIG.md, "Limits": far beyond any real build-out, small enough
// that sums over 1200 months, 64 sites and 16 suppliers stay finite.
constexpr double max_gw = 1e5;        // 100 TW
constexpr double max_months = 1e9;    // delays, lead times, time constants
constexpr double max_wafers = 1e9;    // per month and supplier
constexpr double max_usd_b = 1e7;     // USD billions
constexpr double max_per_year = 1e6;  // event rates and hazards
constexpr double max_count = 1e4;     // stacks per wafer / accelerator, capacity factors

const Range any_real{};
const Range fraction{0, 1};
const Range gw{0, infinity, false, max_gw};
const Range months{-infinity, infinity, false, max_months};
const Range months_non_negative{0, infinity, false, max_months};
const Range months_positive{0, infinity, true, max_months};
const Range wafers{0, infinity, false, max_wafers};
const Range usd_b{0, infinity, false, max_usd_b};
const Range per_year{0, infinity, false, max_per_year};
const Range count{0, infinity, false, max_count};
const Range stacks_per_accelerator{0.01, infinity, false, max_count};
const Range kw{0, infinity, false, 1e5};
const Range capex{1e-3, infinity, false, 1e6};

/// Lists longer than these are refused with their length and the limit.
constexpr std::size_t max_schedule_points = 2400;
constexpr std::size_t max_percentiles = 100;
constexpr std::size_t max_name_bytes = 200;
/// Beyond this a + b, the incomplete-beta inversion can no longer resolve the distribution
/// in double precision (measured against a skew-corrected normal: under 1e-4 sd of error up
/// to 2.5e10, 6e-4 sd at 2.5e11, 0.1 sd at 2.5e13; tests/distributions_test.cpp).
constexpr double max_beta_concentration = 1e10;

/// The sampler's uniforms lie in [2^-33, 1 - 2^-33] (docs/MODEL.md, "Randomness"), so these
/// give the extreme values a distribution can produce.
constexpr double lowest_uniform = 1.1641532182693481e-10;
constexpr double highest_uniform = 1.0 - 1.1641532182693481e-10;

/// Why `text` is not a good name (valid UTF-8, printable, short), or "" when it is one.
std::string name_problem(const std::string& text) {
  if (text.size() > max_name_bytes)
    return "is " + std::to_string(text.size()) + " bytes long; names are at most " +
           std::to_string(max_name_bytes);
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const std::string at = " (byte " + std::to_string(i) + ")";
    std::size_t length = 1;
    std::uint32_t code = byte;
    if (byte >= 0xc2 && byte <= 0xdf) {
      length = 2;
      code = byte & 0x1fu;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      length = 3;
      code = byte & 0x0fu;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      length = 4;
      code = byte & 0x07u;
    } else if (byte >= 0x80) {
      return "is not valid UTF-8" + at;
    }
    if (i + length > text.size()) return "is not valid UTF-8" + at;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return "is not valid UTF-8" + at;
      code = (code << 6) | (next & 0x3fu);
    }
    const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
    if (overlong || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
      return "is not valid UTF-8" + at;
    if (code < 0x20 || code == 0x7f || (code >= 0x80 && code < 0xa0))
      return "contains a control character" + at;
    if ((code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069))
      return "contains a bidirectional-text control character" + at;
    i += length;
  }
  return "";
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t next =
          std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.size()];
}

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
  static std::string quote(const std::string& text) {
    std::string out;
    for (unsigned char c : text.substr(0, 40)) {
      if (c >= 0x20 && c < 0x7f) {
        out += static_cast<char>(c);
      } else {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02x", c);
        out += hex;
      }
    }
    return "'" + out + (text.size() > 40 ? "...'" : "'");
  }

  static std::string kind_name(const YAML::Node& node) {
    switch (node.Type()) {
      case YAML::NodeType::Null:
        return "nothing (an empty value)";
      case YAML::NodeType::Scalar:
        return quote(node.Scalar());
      case YAML::NodeType::Sequence:
        return "a list";
      case YAML::NodeType::Map:
        return "a mapping";
      default:
        return "an undefined value";
    }
  }

  void expect_map(const YAML::Node& node, const std::string& field) const {
    if (!node.IsMap()) fail(node, field, "expected a mapping of keys, got " + kind_name(node));
  }

  void expect_list(const YAML::Node& node, const std::string& field) const {
    if (!node.IsSequence()) fail(node, field, "expected a list, got " + kind_name(node));
  }

  /// Rejects keys not in `allowed` (with a suggestion) and duplicated keys.
  void check_keys(const YAML::Node& map, const std::string& field,
                  const std::vector<std::string>& allowed) const {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const YAML::Node& key_node = entry.first;
      if (!key_node.IsScalar()) fail(key_node, field, "keys must be plain names");
      const std::string key = key_node.Scalar();
      const std::string path = join(field, key);
      if (!seen.insert(key).second) fail(key_node, path, "duplicate key");
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) {
        // yaml-cpp places an empty value where the next token starts: point at the key.
        if (entry.second.IsNull()) fail(key_node, path, "no value given after '" + key + ":'");
        continue;
      }
      std::string best;
      std::size_t best_distance = 3;
      for (const auto& candidate : allowed) {
        const std::size_t distance = edit_distance(key, candidate);
        if (distance < best_distance) {
          best_distance = distance;
          best = candidate;
        }
      }
      std::string message = "unknown key '" + key + "'";
      if (!best.empty()) message += " (did you mean '" + best + "'?)";
      std::string listing;
      for (const auto& candidate : allowed) listing += (listing.empty() ? "" : ", ") + candidate;
      fail(key_node, path, message + "; allowed keys: " + listing);
    }
  }

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

  double number(const YAML::Node& node, const std::string& field, const Range& range) const {
    const std::string expected = "expected a number" + with_space(range.describe());
    if (!node.IsScalar()) fail(node, field, expected + ", got " + kind_name(node));
    const std::string& text = node.Scalar();
    std::string lower = text;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == ".nan" || lower == ".inf" || lower == "-.inf" || lower == "+.inf" ||
        lower == "nan" || lower == "inf" || lower == "-inf" || lower == "infinity")
      fail(node, field, "expected a finite number, got '" + text + "'");
    double value = 0;
    const char* begin = text.data();
    const char* end = text.data() + text.size();
    if (begin != end && *begin == '+') ++begin;
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || ptr != end || text.empty())
      fail(node, field, expected + ", got " + kind_name(node));
    if (!std::isfinite(value)) fail(node, field, "expected a finite number, got '" + text + "'");
    if (!range.contains(value)) fail(node, field, "must be " + range.describe() + ", got " + text);
    return value;
  }

  long long integer(const YAML::Node& node, const std::string& field, long long min,
                    long long max) const {
    const std::string expected =
        "expected a whole number in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    if (!node.IsScalar()) fail(node, field, expected + ", got " + kind_name(node));
    const std::string& text = node.Scalar();
    const char* begin = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
    long long value = 0;
    const auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), value);
    if (ec == std::errc::result_out_of_range)
      fail(node, field, expected + ", got " + text + " (out of range)");
    if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
      // Accept "1e6" or "1000000.0" when it is a whole number: users write paths that way.
      double real = 0;
      const auto [rptr, rec] = std::from_chars(begin, text.data() + text.size(), real);
      if (rec != std::errc() || rptr != text.data() + text.size() || real != std::floor(real) ||
          std::fabs(real) > 9e18)
        fail(node, field, expected + ", got " + kind_name(node));
      value = static_cast<long long>(real);
    }
    if (value < min || value > max) fail(node, field, expected + ", got " + text);
    return value;
  }

  /// A seed: any whole number in [0, 2^64 - 1].
  std::uint64_t seed(const YAML::Node& node, const std::string& field) const {
    std::uint64_t value = 0;
    const std::string text = node.IsScalar() ? node.Scalar() : "";
    const char* begin = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
    const auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), value);
    if (!node.IsScalar() || ec != std::errc() || ptr != text.data() + text.size() || text.empty())
      fail(node, field,
           "expected a whole number in [0, 18446744073709551615], got " + kind_name(node));
    return value;
  }

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
                    const Range& range) const {
    const std::string shape = "expected a schedule: a list of [YYYY-MM, value] pairs";
    if (!node.IsSequence() || node.size() == 0)
      fail(node, field, shape + ", got " + kind_name(node));
    if (node.size() > max_schedule_points)
      fail(node, field,
           "has " + std::to_string(node.size()) + " points; a schedule has at most " +
               std::to_string(max_schedule_points));
    Schedule points;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const YAML::Node& pair = node[i];
      const std::string path = index(field, i);
      if (!pair.IsSequence() || pair.size() != 2)
        fail(pair, path, shape + "; this entry is " + kind_name(pair));
      const int m = month_index(pair[0], path + "[0]", start);
      const double value = number(pair[1], path + "[1]", range);
      if (!points.empty() && m <= points.back().month)
        fail(pair[0], path + "[0]",
             "schedule months must be strictly increasing: " + pair[0].Scalar() +
                 " does not come after the previous point");
      points.push_back({static_cast<double>(m), value});
    }
    return points;
  }

  /// A distribution (or a plain number, meaning fixed) whose support must lie in `range`.
  /// `factors` is empty where a copula factor is not allowed (per-event draws).
  Distribution distribution(const YAML::Node& node, const std::string& field, const Range& range,
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

    auto param = [&](const std::string& key) {
      return number(require(node, field, key), join(field, key), any_real);
    };
    auto has = [&](const std::string& key) { return static_cast<bool>(node[key]); };
    auto at = [&](const std::string& key) { return node[key]; };
    const std::string support_problem = "the distribution's values must all be " + range.describe();

    Distribution d;
    if (kind == "fixed") {
      d = make_fixed(number(require(node, field, "value"), join(field, "value"), range));
    } else if (kind == "uniform") {
      const double min = param("min"), max = param("max");
      if (!(max > min)) fail(at("max"), join(field, "max"), "must be greater than min");
      d = make_uniform(min, max);
    } else if (kind == "normal") {
      const double mean = param("mean"), sd = param("sd");
      if (!(sd > 0)) fail(at("sd"), join(field, "sd"), "must be > 0, got " + at("sd").Scalar());
      const double lower = has("min") ? param("min") : -infinity;
      const double upper = has("max") ? param("max") : infinity;
      if (!(upper > lower)) fail(at("max"), join(field, "max"), "must be greater than min");
      // Truncation so far out that no probability is left would make Q(u) meaningless.
      if (normal_cdf((upper - mean) / sd) - normal_cdf((lower - mean) / sd) < 1e-9)
        fail(node, field, "the bounds [min, max] leave no probability mass around the mean");
      if (std::isinf(lower) && std::isfinite(range.min))
        fail(node, field, support_problem + ": add 'min' to truncate the normal");
      if (std::isinf(upper) && std::isfinite(range.max))
        fail(node, field, support_problem + ": add 'max' to truncate the normal");
      d = make_normal(mean, sd, lower, upper);
    } else if (kind == "lognormal") {
      double mu = 0, sigma = 0;
      if (has("median") || has("p90")) {
        if (has("mu") || has("sigma"))
          fail(node, field, "give either median and p90, or mu and sigma, not both");
        const double median = param("median"), p90 = param("p90");
        if (!(median > 0)) fail(at("median"), join(field, "median"), "must be > 0");
        if (!(p90 > median)) fail(at("p90"), join(field, "p90"), "must be greater than median");
        mu = std::log(median);
        sigma = (std::log(p90) - mu) / 1.2815515655446004;  // z of the 90th percentile
      } else {
        mu = param("mu");
        sigma = param("sigma");
        if (!(sigma > 0)) fail(at("sigma"), join(field, "sigma"), "must be > 0");
      }
      d = make_lognormal(mu, sigma);
    } else if (kind == "triangular" || kind == "pert") {
      const double min = param("min"), mode = param("mode"), max = param("max");
      if (!(max > min)) fail(at("max"), join(field, "max"), "must be greater than min");
      if (mode < min || mode > max)
        fail(at("mode"), join(field, "mode"),
             "must lie in [min, max] = [" + at("min").Scalar() + ", " + at("max").Scalar() + "]");
      d = kind == "pert" ? make_pert(min, mode, max) : make_triangular(min, mode, max);
    } else if (kind == "beta") {
      if (has("mean") || has("sd")) {
        if (has("a") || has("b")) fail(node, field, "give either mean and sd, or a and b");
        const double mean = param("mean"), sd = param("sd");
        if (!(mean > 0 && mean < 1))
          fail(at("mean"), join(field, "mean"), "must be in (0, 1), got " + at("mean").Scalar());
        if (!(sd > 0)) fail(at("sd"), join(field, "sd"), "must be > 0");
        if (!(sd * sd < mean * (1 - mean)))
          fail(at("sd"), join(field, "sd"),
               "too large for the mean: a beta needs sd < sqrt(mean (1 - mean)) = " +
                   Range::format(std::sqrt(mean * (1 - mean))));
        const double concentration = mean * (1 - mean) / (sd * sd) - 1;  // a + b
        if (!(concentration <= max_beta_concentration))
          fail(at("sd"), join(field, "sd"),
               "too small for a beta: it needs sd >= " +
                   Range::format(std::sqrt(mean * (1 - mean) / (max_beta_concentration + 1))) +
                   " at this mean (a + b at most 1e10; beyond that the sampler cannot resolve "
                   "the distribution); use a fixed value, or a normal with min and max");
        d = make_beta_mean_sd(mean, sd);
      } else {
        const double a = param("a"), b = param("b");
        if (!(a > 0)) fail(at("a"), join(field, "a"), "must be > 0");
        if (!(b > 0)) fail(at("b"), join(field, "b"), "must be > 0");
        if (!(a + b <= max_beta_concentration))
          fail(node, field,
               "a + b = " + Range::format(a + b) +
                   " is too large: at most 1e10, beyond which the sampler cannot resolve the "
                   "distribution; use a fixed value, or a normal with min and max");
        d = make_beta(a, b);
      }
    } else {  // bernoulli
      d = make_bernoulli(number(require(node, field, "p"), join(field, "p"), fraction));
    }
    if (kind != "fixed") {
      // A lognormal never reaches its lower end 0, so it satisfies "> 0"; against a positive
      // minimum, and against the size cap, what counts is what the sampler can draw.
      const bool open_lower = d.kind == DistKind::lognormal;
      const double lowest = quantile(d, lowest_uniform);
      const double highest = quantile(d, highest_uniform);
      const double lower = open_lower && range.min > 0 ? lowest : d.lower;
      const bool below = range.min_exclusive && !(open_lower && range.min > 0)
                             ? !(open_lower || lower > range.min)
                             : !(lower >= range.min);
      if (below || !(d.upper <= range.max))
        fail(node, field,
             support_problem + ", but this " + kind + " ranges over " + (open_lower ? "(" : "[") +
                 Range::format(d.lower) + ", " + Range::format(d.upper) +
                 (std::isinf(d.upper) ? ")" : "]"));
      if (!(std::fabs(lowest) <= range.cap && std::fabs(highest) <= range.cap))
        fail(node, field,
             "the distribution's values must all be at most " + Range::format(range.cap) +
                 " in size, but this " + kind + " can draw " +
                 Range::format(std::fabs(lowest) > std::fabs(highest) ? lowest : highest) +
                 " (at u = 2^-33 or 1 - 2^-33, the sampler's extreme uniforms)");
    }
    if (has("factor")) {
      if (factors == nullptr)
        fail(at("factor"), join(field, "factor"),
             "a factor is not allowed here: this value is drawn afresh for every event");
      const std::string name = text(at("factor"), join(field, "factor"));
      const auto it = std::find(factors->begin(), factors->end(), name);
      if (it == factors->end()) {
        std::string listing;
        for (const auto& f : *factors) listing += (listing.empty() ? "" : ", ") + f;
        fail(at("factor"), join(field, "factor"),
             "unknown factor '" + name +
                 "'; correlation.factors lists: " + (listing.empty() ? "(none)" : listing));
      }
      d.factor = static_cast<std::int16_t>(it - factors->begin());
    }
    if (has("sign")) {
      if (!has("factor")) fail(at("sign"), join(field, "sign"), "'sign' needs a 'factor'");
      const long long sign = integer(at("sign"), join(field, "sign"), -1, 1);
      if (sign == 0) fail(at("sign"), join(field, "sign"), "must be 1 or -1");
      d.sign = static_cast<std::int8_t>(sign);
    }
    return d;
  }

  /// An event probability: a number p in [0, 1], or a bernoulli distribution (to tie it to a
  /// factor).
  Distribution event(const YAML::Node& node, const std::string& field,
                     const std::vector<std::string>& factors) const {
    if (node.IsScalar()) return make_bernoulli(number(node, field, fraction));
    if (node.IsMap() && node["dist"] && node["dist"].IsScalar() &&
        node["dist"].Scalar() != "bernoulli")
      fail(node["dist"], join(field, "dist"),
           "a probability is a number in [0, 1] or {dist: bernoulli, p: ...}");
    return distribution(node, field, fraction, &factors);
  }

 private:
  std::string file_;
};

/// Builds a Scenario from the parsed document.
class ScenarioBuilder {
 public:
  ScenarioBuilder(const Reader& reader, const YAML::Node& root) : r_(reader), root_(root) {}

  Scenario build() {
    if (root_.IsNull())
      r_.fail(root_, "",
              "the file is empty: expected a mapping with keys scenario, supply, "
              "funding, sites (and optionally correlation)");
    if (!root_.IsMap())
      r_.fail(root_, "",
              "expected a mapping with keys scenario, supply, funding, sites at the "
              "top level, got " +
                  Reader::kind_name(root_));
    r_.check_keys(root_, "", {"scenario", "correlation", "supply", "funding", "sites"});
    read_scenario(r_.require(root_, "", "scenario"));
    if (root_["correlation"]) read_correlation(root_["correlation"]);
    read_supply(r_.require(root_, "", "supply"));
    read_funding(r_.require(root_, "", "funding"));
    read_sites(r_.require(root_, "", "sites"));
    return std::move(s_);
  }

 private:
  const std::vector<std::string>& factors() const { return s_.correlation.factors; }

  Distribution dist(const YAML::Node& map, const std::string& field, const std::string& key,
                    const Range& range) const {
    return r_.distribution(r_.require(map, field, key), Reader::join(field, key), range,
                           &factors());
  }
  Distribution dist_or(const YAML::Node& map, const std::string& field, const std::string& key,
                       const Range& range, Distribution fallback) const {
    if (!map[key]) return fallback;
    return r_.distribution(map[key], Reader::join(field, key), range, &factors());
  }

  void read_scenario(const YAML::Node& node) {
    const std::string f = "scenario";
    r_.expect_map(node, f);
    r_.check_keys(node, f,
                  {"name", "start", "horizon_months", "seed", "paths", "percentiles",
                   "report_months", "on_target_tolerance"});
    s_.name = r_.name(r_.require(node, f, "name"), "scenario.name");
    s_.start = r_.month(r_.require(node, f, "start"), "scenario.start");
    s_.horizon_months =
        static_cast<int>(r_.integer(r_.require(node, f, "horizon_months"),
                                    "scenario.horizon_months", 1, ModelLimits::max_horizon));
    if (node["seed"]) s_.seed = r_.seed(node["seed"], "scenario.seed");
    if (node["paths"])
      s_.paths = static_cast<std::uint64_t>(r_.integer(
          node["paths"], "scenario.paths", 1, static_cast<long long>(ModelLimits::max_paths)));
    if (node["percentiles"]) {
      const YAML::Node list = node["percentiles"];
      r_.expect_list(list, "scenario.percentiles");
      if (list.size() == 0) r_.fail(list, "scenario.percentiles", "must not be empty");
      if (list.size() > max_percentiles)
        r_.fail(list, "scenario.percentiles",
                "lists " + std::to_string(list.size()) + " percentiles; at most " +
                    std::to_string(max_percentiles) + " can be reported");
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string path = Reader::index("scenario.percentiles", i);
        const double q = r_.number(list[i], path, Range{0, 100});
        if (!s_.percentiles.empty() && q <= s_.percentiles.back())
          r_.fail(list[i], path, "percentiles must be strictly increasing");
        s_.percentiles.push_back(q);
      }
    } else {
      s_.percentiles = {1, 5, 10, 25, 50, 75, 90, 95, 99};
    }
    if (node["report_months"]) {
      const YAML::Node list = node["report_months"];
      r_.expect_list(list, "scenario.report_months");
      if (list.size() == 0) r_.fail(list, "scenario.report_months", "must not be empty");
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string path = Reader::index("scenario.report_months", i);
        const int m = r_.month_index(list[i], path, s_.start);
        if (m < 0 || m >= s_.horizon_months)
          r_.fail(list[i], path,
                  "outside the horizon " + s_.start.str() + " .. " +
                      s_.start.plus(s_.horizon_months - 1).str());
        if (!s_.report_months.empty() && m <= s_.report_months.back())
          r_.fail(list[i], path, "report months must be strictly increasing");
        s_.report_months.push_back(m);
      }
    } else {
      s_.report_months.resize(static_cast<std::size_t>(s_.horizon_months));
      std::iota(s_.report_months.begin(), s_.report_months.end(), 0);
    }
    if (node["on_target_tolerance"]) {
      s_.on_target_tolerance =
          r_.number(node["on_target_tolerance"], "scenario.on_target_tolerance", Range{0, 1});
      if (s_.on_target_tolerance >= 1)
        r_.fail(node["on_target_tolerance"], "scenario.on_target_tolerance", "must be < 1");
    }
  }

  void read_correlation(const YAML::Node& node) {
    const std::string f = "correlation";
    r_.expect_map(node, f);
    r_.check_keys(node, f, {"copula", "df", "factors", "matrix"});
    Correlation& c = s_.correlation;
    if (node["copula"]) {
      const std::string copula = r_.text(node["copula"], "correlation.copula");
      if (copula == "gaussian") {
        c.copula = CopulaKind::gaussian;
      } else if (copula == "student_t") {
        c.copula = CopulaKind::student_t;
      } else {
        r_.fail(node["copula"], "correlation.copula",
                "expected gaussian or student_t, got '" + copula + "'");
      }
    }
    if (c.copula == CopulaKind::student_t) {
      const YAML::Node df = r_.require(node, f, "df");
      c.df = r_.number(df, "correlation.df", Range{0, infinity, true, 1e6});
      if (!(c.df > 2)) r_.fail(df, "correlation.df", "a student_t copula needs df > 2");
    } else if (node["df"]) {
      r_.fail(node["df"], "correlation.df", "df applies only to copula: student_t");
    }
    const YAML::Node list = r_.require(node, f, "factors");
    r_.expect_list(list, "correlation.factors");
    if (list.size() > static_cast<std::size_t>(ModelLimits::max_factors))
      r_.fail(list, "correlation.factors",
              "at most " + std::to_string(ModelLimits::max_factors) + " factors");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string name = r_.name(list[i], Reader::index("correlation.factors", i));
      if (std::find(c.factors.begin(), c.factors.end(), name) != c.factors.end())
        r_.fail(list[i], Reader::index("correlation.factors", i),
                "duplicate factor name '" + name + "'");
      c.factors.push_back(name);
    }
    const std::size_t k = c.factors.size();
    const YAML::Node matrix = r_.require(node, f, "matrix");
    r_.expect_list(matrix, "correlation.matrix");
    if (matrix.size() != k)
      r_.fail(matrix, "correlation.matrix",
              "not square: expected " + std::to_string(k) + " rows (one per factor), got " +
                  std::to_string(matrix.size()));
    c.matrix.assign(k, std::vector<double>(k));
    for (std::size_t i = 0; i < k; ++i) {
      const std::string row_field = Reader::index("correlation.matrix", i);
      r_.expect_list(matrix[i], row_field);
      if (matrix[i].size() != k)
        r_.fail(matrix[i], row_field,
                "not square: expected " + std::to_string(k) + " entries, got " +
                    std::to_string(matrix[i].size()));
      for (std::size_t j = 0; j < k; ++j)
        c.matrix[i][j] = r_.number(matrix[i][j], Reader::index(row_field, j), any_real);
    }
    for (std::size_t i = 0; i < k; ++i) {
      for (std::size_t j = 0; j < k; ++j) {
        const std::string at = Reader::index(Reader::index("correlation.matrix", i), j);
        const double v = c.matrix[i][j];
        if (i == j && std::fabs(v - 1.0) > 1e-12)
          r_.fail(matrix[i][j], at, "diagonal entries must be 1, got " + matrix[i][j].Scalar());
        if (std::fabs(v) > 1.0)
          r_.fail(matrix[i][j], at,
                  "a correlation must be in [-1, 1], got " + matrix[i][j].Scalar());
        if (std::fabs(v - c.matrix[j][i]) > 1e-12)
          r_.fail(matrix[i][j], at,
                  "not symmetric: entry [" + std::to_string(i) + "][" + std::to_string(j) +
                      "] = " + matrix[i][j].Scalar() + " but [" + std::to_string(j) + "][" +
                      std::to_string(i) + "] = " + matrix[j][i].Scalar());
      }
    }
    if (!cholesky_psd(c.matrix, c.cholesky))
      r_.fail(matrix, "correlation.matrix",
              "not positive semidefinite: no joint distribution has these correlations "
              "(the Cholesky factorization fails)");
  }

  YieldCurve yield_curve(const YAML::Node& node, const std::string& f) const {
    r_.expect_map(node, f);
    r_.check_keys(node, f, {"initial", "mature", "tau_months"});
    YieldCurve curve;
    curve.initial = dist(node, f, "initial", fraction);
    curve.mature = dist(node, f, "mature", fraction);
    curve.tau_months = dist(node, f, "tau_months", months_positive);
    return curve;
  }

  void read_supply(const YAML::Node& node) {
    const std::string f = "supply";
    r_.expect_map(node, f);
    r_.check_keys(
        node, f,
        {"program_share", "stacks_per_wafer", "stacks_per_accelerator", "kw_per_accelerator",
         "lead_time_months", "packaging_cap_gw", "hbm_yield", "package_yield", "suppliers"});
    Supply& s = s_.supply;
    s.program_share = dist(node, f, "program_share", fraction);
    s.stacks_per_wafer = dist(node, f, "stacks_per_wafer", count);
    s.stacks_per_accelerator = dist(node, f, "stacks_per_accelerator", stacks_per_accelerator);
    s.kw_per_accelerator = dist(node, f, "kw_per_accelerator", kw);
    s.lead_time_months = dist_or(node, f, "lead_time_months", months_non_negative, make_fixed(0));
    if (node["packaging_cap_gw"])
      s.packaging_cap_gw =
          r_.schedule(node["packaging_cap_gw"], "supply.packaging_cap_gw", s_.start, gw);
    s.hbm_yield = yield_curve(r_.require(node, f, "hbm_yield"), "supply.hbm_yield");
    if (node["package_yield"])
      s.package_yield = yield_curve(node["package_yield"], "supply.package_yield");
    const YAML::Node list = r_.require(node, f, "suppliers");
    r_.expect_list(list, "supply.suppliers");
    if (list.size() == 0) r_.fail(list, "supply.suppliers", "must list at least one supplier");
    if (list.size() > static_cast<std::size_t>(ModelLimits::max_suppliers))
      r_.fail(list, "supply.suppliers",
              "at most " + std::to_string(ModelLimits::max_suppliers) + " suppliers");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string sf = Reader::index("supply.suppliers", i);
      const YAML::Node n = list[i];
      r_.expect_map(n, sf);
      r_.check_keys(n, sf,
                    {"name", "wafers_per_month", "ramp_delay_months", "capacity_factor",
                     "disruption", "hbm_yield"});
      Supplier supplier;
      supplier.name = unique_name(r_.require(n, sf, "name"), sf, s.suppliers);
      supplier.wafers_per_month = r_.schedule(r_.require(n, sf, "wafers_per_month"),
                                              sf + ".wafers_per_month", s_.start, wafers);
      supplier.ramp_delay_months = dist_or(n, sf, "ramp_delay_months", months, make_fixed(0));
      supplier.capacity_factor = dist_or(n, sf, "capacity_factor", count, make_fixed(1));
      if (n["disruption"]) {
        const std::string df = sf + ".disruption";
        const YAML::Node d = n["disruption"];
        r_.expect_map(d, df);
        r_.check_keys(d, df, {"rate_per_year", "loss", "recovery_months"});
        supplier.disruption_rate_per_year =
            r_.number(r_.require(d, df, "rate_per_year"), df + ".rate_per_year", per_year);
        supplier.disruption_loss =
            r_.distribution(r_.require(d, df, "loss"), df + ".loss", fraction, nullptr);
        supplier.disruption_recovery_months = r_.distribution(
            r_.require(d, df, "recovery_months"), df + ".recovery_months", months_non_negative, nullptr);
      }
      if (n["hbm_yield"]) supplier.hbm_yield = yield_curve(n["hbm_yield"], sf + ".hbm_yield");
      s.suppliers.push_back(std::move(supplier));
    }
  }

  void read_funding(const YAML::Node& node) {
    const std::string f = "funding";
    r_.expect_map(node, f);
    r_.check_keys(node, f, {"capex_per_gw", "deals"});
    s_.funding.capex_per_gw = dist(node, f, "capex_per_gw", capex);
    const YAML::Node list = r_.require(node, f, "deals");
    r_.expect_list(list, "funding.deals");
    if (list.size() == 0) r_.fail(list, "funding.deals", "must list at least one deal");
    if (list.size() > static_cast<std::size_t>(ModelLimits::max_deals))
      r_.fail(list, "funding.deals",
              "at most " + std::to_string(ModelLimits::max_deals) + " deals");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string df = Reader::index("funding.deals", i);
      const YAML::Node n = list[i];
      r_.expect_map(n, df);
      Deal deal;
      if (!n["kind"])  // a misspelt 'kind' should get its suggestion, not "missing kind"
        r_.check_keys(
            n, df,
            {"name", "kind", "delay_months", "close_probability", "cancel_hazard_per_year",
             "tranches", "start", "advance", "per_gw", "cap", "lag_months"});
      const YAML::Node kind = r_.require(n, df, "kind");
      const std::string kind_text = r_.text(kind, df + ".kind");
      const std::vector<std::string> common = {"name", "kind", "delay_months", "close_probability",
                                               "cancel_hazard_per_year"};
      std::vector<std::string> allowed = common;
      if (kind_text == "schedule") {
        deal.kind = DealKind::schedule;
        allowed.push_back("tranches");
      } else if (kind_text == "per_gw") {
        deal.kind = DealKind::per_gw;
        allowed.insert(allowed.end(), {"start", "advance", "per_gw", "cap", "lag_months"});
      } else {
        r_.fail(kind, df + ".kind", "expected schedule or per_gw, got '" + kind_text + "'");
      }
      r_.check_keys(n, df, allowed);
      deal.name = unique_name(r_.require(n, df, "name"), df, s_.funding.deals);
      if (deal.kind == DealKind::schedule) {
        deal.tranches =
            r_.schedule(r_.require(n, df, "tranches"), df + ".tranches", s_.start, usd_b);
      } else {
        deal.start_month = n["start"] ? r_.month_index(n["start"], df + ".start", s_.start) : 0;
        deal.advance = n["advance"] ? r_.number(n["advance"], df + ".advance", usd_b) : 0;
        deal.per_gw = r_.number(r_.require(n, df, "per_gw"), df + ".per_gw", usd_b);
        deal.cap = n["cap"] ? r_.number(n["cap"], df + ".cap", usd_b) : infinity;
        deal.lag_months = n["lag_months"]
                              ? static_cast<int>(r_.integer(n["lag_months"], df + ".lag_months", 0,
                                                            ModelLimits::max_per_gw_lag))
                              : 0;
      }
      deal.delay_months = dist_or(n, df, "delay_months", months, make_fixed(0));
      if (n["close_probability"])
        deal.closes = r_.event(n["close_probability"], df + ".close_probability", factors());
      if (n["cancel_hazard_per_year"])
        deal.cancel_hazard_per_year =
            r_.number(n["cancel_hazard_per_year"], df + ".cancel_hazard_per_year", per_year);
      s_.funding.deals.push_back(std::move(deal));
    }
  }

  void read_sites(const YAML::Node& list) {
    r_.expect_list(list, "sites");
    if (list.size() == 0) r_.fail(list, "sites", "must list at least one site");
    if (list.size() > static_cast<std::size_t>(ModelLimits::max_sites))
      r_.fail(list, "sites", "at most " + std::to_string(ModelLimits::max_sites) + " sites");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string sf = Reader::index("sites", i);
      const YAML::Node n = list[i];
      r_.expect_map(n, sf);
      r_.check_keys(n, sf,
                    {"name", "priority", "funded_by", "target_gw", "build_rate_gw", "power"});
      Site site;
      site.name = unique_name(r_.require(n, sf, "name"), sf, s_.sites);
      if (site.name == "ALL")
        r_.fail(n["name"], sf + ".name", "'ALL' is reserved for the whole program");
      if (n["priority"])
        site.priority =
            static_cast<int>(r_.integer(n["priority"], sf + ".priority", -1000000, 1000000));
      const YAML::Node funded = r_.require(n, sf, "funded_by");
      r_.expect_list(funded, sf + ".funded_by");
      if (funded.size() == 0)
        r_.fail(funded, sf + ".funded_by", "must name at least one deal from funding.deals");
      for (std::size_t j = 0; j < funded.size(); ++j) {
        const std::string ff = Reader::index(sf + ".funded_by", j);
        const std::string name = r_.text(funded[j], ff);
        const auto& deals = s_.funding.deals;
        const auto it =
            std::find_if(deals.begin(), deals.end(), [&](const Deal& d) { return d.name == name; });
        if (it == deals.end()) {
          std::string listing;
          for (const auto& d : deals) listing += (listing.empty() ? "" : ", ") + d.name;
          r_.fail(funded[j], ff, "unknown deal '" + name + "'; funding.deals has: " + listing);
        }
        const int index = static_cast<int>(it - deals.begin());
        if (std::find(site.funded_by.begin(), site.funded_by.end(), index) != site.funded_by.end())
          r_.fail(funded[j], ff, "deal '" + name + "' is listed twice");
        site.funded_by.push_back(index);
      }
      site.target_gw =
          r_.schedule(r_.require(n, sf, "target_gw"), sf + ".target_gw", s_.start, gw);
      site.build_rate_gw = dist(n, sf, "build_rate_gw", gw);
      const std::string pf = sf + ".power";
      const YAML::Node power = r_.require(n, sf, "power");
      r_.expect_map(power, pf);
      r_.check_keys(power, pf, {"schedule", "delay_months", "availability", "failure_probability"});
      site.power_schedule =
          r_.schedule(r_.require(power, pf, "schedule"), pf + ".schedule", s_.start, gw);
      site.power_delay_months = dist_or(power, pf, "delay_months", months, make_fixed(0));
      site.power_availability = dist_or(power, pf, "availability", fraction, make_fixed(1));
      if (power["failure_probability"])
        site.power_fails =
            r_.event(power["failure_probability"], pf + ".failure_probability", factors());
      s_.sites.push_back(std::move(site));
    }
  }

  template <class Named>
  std::string unique_name(const YAML::Node& node, const std::string& field,
                          const std::vector<Named>& existing) const {
    const std::string name = r_.name(node, field + ".name");
    for (const auto& other : existing)
      if (other.name == name) r_.fail(node, field + ".name", "duplicate name '" + name + "'");
    return name;
  }

  const Reader& r_;
  const YAML::Node& root_;
  Scenario s_;
};

}  // namespace

namespace {

/// Deepest nesting of mappings and lists a config may use (the shipped ones use 6).
constexpr int max_nesting = 64;

/// Refuses text nested deeper than max_nesting before the YAML parser recurses into it. The
/// depth counted is an upper bound: the enclosing blocks (by indentation), the "- " items
/// opened on the line, and the open [ and { of flow collections.
void check_nesting(const std::string& text, const std::string& file) {
  std::vector<std::size_t> indents;  // of the enclosing block lines
  int flow = 0;
  bool in_double = false, in_single = false;
  int line = 1;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string_view row(text.data() + begin, end - begin);
    std::size_t indent = row.find_first_not_of(' ');
    const bool blank = indent == std::string_view::npos || row[indent] == '#' ||
                       row[indent] == '\r';
    int depth = flow;
    if (!blank && flow == 0 && !in_double && !in_single) {
      while (!indents.empty() && indents.back() >= indent) indents.pop_back();
      indents.push_back(indent);
      depth = static_cast<int>(indents.size());
      while (indent + 1 < row.size() && row[indent] == '-' && row[indent + 1] == ' ') {
        ++depth;
        indent = row.find_first_not_of(' ', indent + 1);
        if (indent == std::string_view::npos) break;
      }
    } else {
      depth += static_cast<int>(indents.size());
    }
    for (std::size_t i = 0; i < row.size(); ++i) {
      const char c = row[i];
      if (in_double) {
        if (c == '\\') ++i;
        else if (c == '"') in_double = false;
      } else if (in_single) {
        if (c == '\'') in_single = false;
      } else if (c == '"') {
        in_double = true;
      } else if (c == '\'') {
        in_single = true;
      } else if (c == '#' && (i == 0 || row[i - 1] == ' ')) {
        break;
      } else if (c == '[' || c == '{') {
        ++flow;
        ++depth;
      } else if ((c == ']' || c == '}') && flow > 0) {
        --flow;
        --depth;
      }
      if (depth > max_nesting)
        throw ConfigError(file, line, static_cast<int>(i) + 1, "",
                          "nested deeper than " + std::to_string(max_nesting) +
                              " levels of mappings and lists; a scenario needs far fewer");
    }
    if (depth > max_nesting)
      throw ConfigError(file, line, 1, "",
                        "nested deeper than " + std::to_string(max_nesting) +
                            " levels of mappings and lists; a scenario needs far fewer");
    begin = end + 1;
    ++line;
  }
}

/// The 1-based line of the second document's start marker ("---"), or 0.
int second_document_line(const std::string& text) {
  int line = 1;
  bool content = false;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string_view row(text.data() + begin, end - begin);
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    const bool marker = row.substr(0, 3) == "---" && (row.size() == 3 || row[3] == ' ');
    if (marker && content) return line;
    const std::size_t first = row.find_first_not_of(' ');
    if (!marker && first != std::string_view::npos && row[first] != '#' && row[0] != '%')
      content = true;
    if (row.substr(0, 3) == "..." && content) return line;
    begin = end + 1;
    ++line;
  }
  return 0;
}

/// Discards every parse event: only how many documents there are is wanted.
struct IgnoreEvents : YAML::EventHandler {
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

/// True when the text holds a second YAML document. Asks the parser for at most two
/// documents: yaml-cpp 0.7's LoadAll never ends on some inputs (", %?1e", found by fuzzing),
/// its parser reporting one more document forever.
bool has_several_documents(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  IgnoreEvents ignore;
  return parser.HandleNextDocument(ignore) && parser.HandleNextDocument(ignore);
}

[[noreturn]] void malformed(const std::string& text, const std::string& file,
                            const YAML::Exception& e) {
  const int line = e.mark.is_null() ? 0 : e.mark.line + 1;
  const int column = e.mark.is_null() ? 0 : e.mark.column + 1;
  std::string hint;
  if (text.find('\t') != std::string::npos)
    hint = " (the file contains tab characters: YAML indents with spaces only)";
  throw ConfigError(file, line, column, "", "malformed YAML: " + e.msg + hint);
}

}  // namespace

Scenario parse_scenario(const std::string& yaml_text, const std::string& display_name) {
  if (yaml_text.find('\0') != std::string::npos)
    throw ConfigError(display_name, 0, 0, "", "not a YAML text file (it contains NUL bytes)");
  if (yaml_text.find('\r') != std::string::npos && yaml_text.find('\n') == std::string::npos)
    throw ConfigError(display_name, 0, 0, "",
                      "its lines end with CR only (the old Mac line ends), which YAML does not "
                      "read as line breaks; save it with LF (or CRLF) line ends");
  check_nesting(yaml_text, display_name);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
    if (has_several_documents(yaml_text)) {
      const int line = second_document_line(yaml_text);
      throw ConfigError(display_name, line, line > 0 ? 1 : 0, "",
                        line > 0 ? "a second YAML document starts here; a scenario is one "
                                   "document (remove the '---' line and what follows, or "
                                   "merge it into the first)"
                                 : "the YAML parser reads more than one document in it; a "
                                   "scenario is one document");
    }
  } catch (const YAML::Exception& e) {
    malformed(yaml_text, display_name, e);
  }
  Reader reader(display_name);
  try {
    Scenario scenario = ScenarioBuilder(reader, root).build();
    scenario.source_path = display_name;
    return scenario;
  } catch (const YAML::Exception& e) {
    // yaml-cpp only throws here on input our checks did not foresee; still the user's file.
    const int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    throw ConfigError(display_name, line, e.mark.is_null() ? 0 : e.mark.column + 1, "",
                      "unreadable YAML: " + e.msg);
  }
}

std::string read_config_file(const std::string& path) {
  // stat first, and open without blocking: a FIFO or a device must be refused, not read.
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    throw ConfigError(path, 0, 0, "",
                      std::string("cannot read the config: ") +
                          (errno == ENOENT ? "no such file" : std::strerror(errno)));
  if (S_ISDIR(info.st_mode))
    throw ConfigError(path, 0, 0, "", "cannot read the config: it is a directory, not a file");
  if (!S_ISREG(info.st_mode))
    throw ConfigError(path, 0, 0, "",
                      "cannot read the config: not a regular file (a pipe, device or socket)");
  if (static_cast<std::uint64_t>(info.st_size) > max_config_bytes)
    throw ConfigError(path, 0, 0, "",
                      "cannot read the config: it is " + std::to_string(info.st_size) +
                          " bytes; a config is at most " + std::to_string(max_config_bytes) +
                          " bytes (4 MiB)");
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    throw ConfigError(path, 0, 0, "",
                      std::string("cannot read the config: ") +
                          (errno == EACCES ? "permission denied" : std::strerror(errno)));
  std::string text(max_config_bytes + 1, '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0) {
        const int error = errno;
        ::close(fd);
        throw ConfigError(path, 0, 0, "",
                          std::string("cannot read the config: read error (") +
                              std::strerror(error) + ")");
      }
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (done > max_config_bytes)
    throw ConfigError(path, 0, 0, "",
                      "cannot read the config: it grew beyond " +
                          std::to_string(max_config_bytes) + " bytes while being read");
  text.resize(done);
  return text;
}

Scenario load_scenario(const std::string& path) {
  return parse_scenario(read_config_file(path), path);
}

}  // namespace caprisk
