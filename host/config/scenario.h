// A validated scenario: what host/config reads and every later stage consumes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernels/distributions.h"
#include "kernels/limits.h"
#include "kernels/schedule.h"

namespace caprisk {

/// A calendar month; `index_from(start)` gives the model's month index t.
struct YearMonth {
  int year = 0;
  int month = 1;  ///< 1..12
  int index_from(YearMonth start) const { return (year - start.year) * 12 + (month - start.month); }
  YearMonth plus(int months) const;
  std::string str() const;  ///< "YYYY-MM"
};

using Schedule = std::vector<SchedulePoint>;

enum class CopulaKind { gaussian, student_t };

struct Correlation {
  CopulaKind copula = CopulaKind::gaussian;
  double df = 0;  ///< Student-t degrees of freedom
  std::vector<std::string> factors;
  std::vector<std::vector<double>> matrix;
  std::vector<double> cholesky;  ///< lower-triangular, row-major K x K
};

/// Y(t) = mature - (mature - initial) exp(-t / tau)
struct YieldCurve {
  Distribution initial = make_fixed(1.0);
  Distribution mature = make_fixed(1.0);
  Distribution tau_months = make_fixed(1.0);
};

struct Supplier {
  std::string name;
  Schedule wafers_per_month;
  Distribution ramp_delay_months = make_fixed(0.0);
  Distribution capacity_factor = make_fixed(1.0);
  double disruption_rate_per_year = 0;
  Distribution disruption_loss = make_fixed(0.0);
  Distribution disruption_recovery_months = make_fixed(0.0);
  std::optional<YieldCurve> hbm_yield;  ///< overrides the program-wide curve
};

struct Supply {
  Distribution program_share;
  Distribution stacks_per_wafer;
  Distribution stacks_per_accelerator;
  Distribution kw_per_accelerator;
  Distribution lead_time_months = make_fixed(0.0);
  Schedule packaging_cap_gw;  ///< empty: no cap
  YieldCurve hbm_yield;
  YieldCurve package_yield;
  std::vector<Supplier> suppliers;
};

enum class DealKind { schedule, per_gw };

struct Deal {
  std::string name;
  DealKind kind = DealKind::schedule;
  Schedule tranches;    ///< schedule: (month index, USD B)
  int start_month = 0;  ///< per_gw: month index of the start before the delay
  double advance = 0;   ///< per_gw
  double per_gw = 0;    ///< per_gw: USD B released per whole GW installed
  double cap = 0;       ///< per_gw: most it ever releases (infinity: no cap)
  int lag_months = 0;   ///< per_gw
  Distribution delay_months = make_fixed(0.0);
  Distribution closes = make_bernoulli(1.0);
  double cancel_hazard_per_year = 0;
};

struct Funding {
  Distribution capex_per_gw;
  std::vector<Deal> deals;
};

struct Site {
  std::string name;
  int priority = 0;
  std::vector<int> funded_by;  ///< deal indices, in charging order
  Schedule target_gw;
  Distribution build_rate_gw;
  Schedule power_schedule;
  Distribution power_delay_months = make_fixed(0.0);
  Distribution power_availability = make_fixed(1.0);
  Distribution power_fails = make_bernoulli(0.0);
};

/// One what-if edit: --set PATH=VALUE or --shift PATH=MONTHS (host/config/overrides.h).
struct Override {
  enum class Kind { set, shift };
  Kind kind = Kind::set;
  std::string path;    ///< as written: supply.suppliers[SK hynix].ramp_delay_months
  std::string value;   ///< YAML text (set) or a number of months (shift)
  std::string origin;  ///< how messages name it: "--set PATH=VALUE", or the stress's location
};

/// A named stress of the config: edits applied together to the base scenario, run over the
/// same paths (caprisk stress).
struct Stress {
  std::string name;
  std::string description;
  std::vector<Override> edits;  ///< sets, then shifts, as the config lists them
};

/// Sites reported together, like ALL (`groups:`).
struct SiteGroup {
  std::string name;
  std::vector<int> sites;  ///< site indices, in the order the config lists them
};

struct Scenario {
  std::string source_path;
  std::string name;
  YearMonth start;
  int horizon_months = 0;
  std::uint64_t seed = 1;
  std::uint64_t paths = 100000;
  std::vector<double> percentiles;
  std::vector<int> report_months;  ///< month indices, increasing
  double on_target_tolerance = 0.02;
  Correlation correlation;
  Supply supply;
  Funding funding;
  std::vector<Site> sites;
  std::vector<SiteGroup> groups;
  std::vector<Stress> stresses;
  /// The --set and --shift edits applied to the file (recorded in summary.json).
  std::vector<Override> overrides;
  /// What the reader accepted but will not use, as warnings (scenario_warnings() adds them).
  struct ReaderWarning {
    std::string where;    ///< FILE:LINE:COLUMN, or the override that put the value there
    std::string field;    ///< the config path
    std::string message;
    std::string text() const { return where + ": " + field + ": " + message; }
  };
  std::vector<ReaderWarning> reader_warnings;
};

}  // namespace caprisk
