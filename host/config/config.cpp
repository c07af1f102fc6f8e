// The scenario schema: a validated Scenario from a config's YAML document. Every check names
// the file, the line and column (from yaml-cpp's marks) and the field path, and says what was
// expected (docs/CONFIG.md).
#include "host/config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>

#include "host/config/analysis_config.h"
#include "host/config/cholesky.h"
#include "host/config/overrides.h"
#include "host/config/yaml_reader.h"

namespace caprisk {

using namespace config_limits;

YearMonth YearMonth::plus(int offset) const {
  const int total = year * 12 + (month - 1) + offset;
  const int y = total >= 0 ? total / 12 : -((-total + 11) / 12);
  return YearMonth{y, total - y * 12 + 1};
}

std::string YearMonth::str() const {
  char buffer[32];
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

namespace {

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
    r_.check_keys(root_, "",
                  {"scenario", "correlation", "supply", "funding", "sites", "groups", "stresses"});
    read_scenario(r_.require(root_, "", "scenario"));
    if (root_["correlation"]) read_correlation(root_["correlation"]);
    read_supply(r_.require(root_, "", "supply"));
    read_funding(r_.require(root_, "", "funding"));
    read_sites(r_.require(root_, "", "sites"));
    if (root_["groups"]) s_.groups = read_groups(r_, root_["groups"], s_.sites);
    if (root_["stresses"]) s_.stresses = read_stresses(r_, root_["stresses"]);
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
    const YAML::Node report_months = node["report_months"];
    if (report_months && report_months.IsScalar() && report_months.Scalar() == "all") {
      s_.report_months.resize(static_cast<std::size_t>(s_.horizon_months));
      std::iota(s_.report_months.begin(), s_.report_months.end(), 0);
    } else if (report_months) {
      read_report_months(report_months);
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

  /// A list of months in the horizon, increasing. A month after the horizon cannot be reported:
  /// it is left out with a warning (refused when no month is left).
  void read_report_months(const YAML::Node& list) {
    const std::string f = "scenario.report_months";
    if (!list.IsSequence())
      r_.fail(list, f, "expected a list of months (YYYY-MM) or 'all', got " +
                           Reader::kind_name(list));
    if (list.size() == 0) r_.fail(list, f, "must not be empty");
    const std::string last = s_.start.plus(s_.horizon_months - 1).str();
    int previous = -1;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string path = Reader::index(f, i);
      const int m = r_.month_index(list[i], path, s_.start);
      if (m < 0)
        r_.fail(list[i], path, "outside the horizon " + s_.start.str() + " .. " + last);
      if (i > 0 && m <= previous) r_.fail(list[i], path, "report months must be strictly increasing");
      previous = m;
      if (m < s_.horizon_months) {
        s_.report_months.push_back(m);
      } else {
        const YAML::Mark mark = list[i].Mark();
        s_.reader_warnings.push_back(
            {r_.file() + ":" + std::to_string(mark.line + 1) + ":" +
                 std::to_string(mark.column + 1),
             path, list[i].Scalar() + " is after the horizon's last month " + last +
                       " and is not reported"});
      }
    }
    if (s_.report_months.empty())
      r_.fail(list, f, "every report month is after the horizon's last month " + last);
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

/// The scenario of a document with `edits` applied (sets on the YAML, then shifts). An error
/// inside an edited value is the edit's: it is named by the edit's origin (the --set as
/// given, or the stress's file, line and field).
Scenario build(const std::string& text, const YAML::Node& document, const std::string& file,
               const std::vector<Override>& edits) {
  std::vector<std::string> canonical;
  // The edits go into a fresh parse of the text, not a YAML::Clone of `document`: a clone
  // loses every node's line and column, and errors elsewhere in the file must keep theirs.
  const YAML::Node root =
      edits.empty() ? document
                    : apply_sets(parse_yaml_document(text, file), edits, canonical);
  Reader reader(file);
  // The last edit that put the value at `field` there, or none (-1).
  const auto edit_of = [&](const std::string& field) -> int {
    for (std::size_t i = edits.size(); i-- > 0;) {
      const std::string& path = canonical[i];
      if (path.empty() || field.compare(0, path.size(), path) != 0) continue;
      const char next = field.size() > path.size() ? field[path.size()] : '\0';
      if (next == '\0' || next == '.' || next == '[') return static_cast<int>(i);
    }
    return -1;
  };
  try {
    Scenario scenario = ScenarioBuilder(reader, root).build();
    scenario.source_path = file;
    apply_shifts(scenario, edits);
    for (Scenario::ReaderWarning& warning : scenario.reader_warnings)
      if (const int i = edit_of(warning.field); i >= 0) warning.where = edits[i].origin;
    return scenario;
  } catch (const ConfigError& e) {
    if (const int i = edit_of(e.field()); i >= 0)
      throw UserError(edits[i].origin + ": " + e.field() + ": " + e.message());
    throw;
  } catch (const YAML::Exception& e) {
    // yaml-cpp only throws here on input our checks did not foresee; still the user's file.
    const int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    throw ConfigError(file, line, e.mark.is_null() ? 0 : e.mark.column + 1, "",
                      "unreadable YAML: " + e.msg);
  }
}

/// A stress may change values, not the shape of the outputs: the stressed tables must line
/// up with the base's cell by cell.
bool same_layout(const Scenario& a, const Scenario& b) {
  if (a.sites.size() != b.sites.size() || a.groups.size() != b.groups.size()) return false;
  for (std::size_t i = 0; i < a.sites.size(); ++i)
    if (a.sites[i].name != b.sites[i].name) return false;
  for (std::size_t g = 0; g < a.groups.size(); ++g)
    if (a.groups[g].name != b.groups[g].name || a.groups[g].sites != b.groups[g].sites)
      return false;
  return a.report_months == b.report_months && a.percentiles == b.percentiles &&
         a.horizon_months == b.horizon_months && a.start.year == b.start.year &&
         a.start.month == b.start.month;
}

Scenario stressed_variant(const std::string& text, const YAML::Node& document,
                          const std::string& file, const Scenario& base, const Stress& stress);

}  // namespace

Scenario parse_scenario(const std::string& yaml_text, const std::string& display_name,
                        const std::vector<Override>& overrides) {
  const YAML::Node document = parse_yaml_document(yaml_text, display_name);
  Scenario scenario = build(yaml_text, document, display_name, overrides);
  scenario.overrides = overrides;
  // Every stress must give a valid scenario of the same shape: checked now, so that a broken
  // stress is found by validate, not after the base has run.
  for (const Stress& stress : scenario.stresses)
    stressed_variant(yaml_text, document, display_name, scenario, stress);
  return scenario;
}

Scenario stressed(const std::string& yaml_text, const std::string& display_name,
                  const Scenario& base, const Stress& stress) {
  return stressed_variant(yaml_text, parse_yaml_document(yaml_text, display_name), display_name,
                          base, stress);
}

namespace {

Scenario stressed_variant(const std::string& text, const YAML::Node& document,
                          const std::string& file, const Scenario& base, const Stress& stress) {
  for (const Override& edit : stress.edits)
    if (edit.path == "scenario.seed" || edit.path == "scenario.paths")
      throw UserError(edit.origin + ": a stress runs over the base's paths with the base's "
                      "seed (that is what makes its differences paired); it cannot set " +
                      edit.path);
  std::vector<Override> edits = base.overrides;
  edits.insert(edits.end(), stress.edits.begin(), stress.edits.end());
  Scenario variant = build(text, document, file, edits);
  if (!same_layout(base, variant))
    throw UserError(stress.edits.front().origin + ": stress '" + stress.name +
                    "' changes the scenario's sites, groups, report months, percentiles or "
                    "horizon; a stress may change values, not what the tables hold");
  variant.overrides = edits;
  return variant;
}

}  // namespace

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
