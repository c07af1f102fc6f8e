// Config errors as a user meets them: `caprisk validate FILE` on a broken scenario must exit 2
// with exactly one line "caprisk: error: FILE:LINE:COL: FIELD: message" that points at the
// right line and field and says what is wrong (docs/CONFIG.md, "Errors").
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "host/config/config.h"

namespace caprisk {
namespace {

// --- A valid scenario that exercises most keys, in blocks that cases can remove. ----------

const std::string scenario_block = R"(scenario:
  name: base
  start: 2026-01
  horizon_months: 36
  seed: 42
  paths: 1000
  percentiles: [5, 50, 95]
  report_months: [2026-06, 2026-12, 2027-12]
  on_target_tolerance: 0.02
)";

const std::string correlation_block = R"(correlation:
  copula: gaussian
  factors: [hbm_ramp, grid]
  matrix:
    - [1.0, 0.3]
    - [0.3, 1.0]
)";

const std::string hbm_yield_block = R"(  hbm_yield:
    initial: {dist: pert, min: 0.45, mode: 0.6, max: 0.75}
    mature: 0.85
    tau_months: {dist: lognormal, median: 9, p90: 15}
)";

const std::string suppliers_block = R"(  suppliers:
    - name: SK hynix
      wafers_per_month: [[2026-01, 20000], [2027-12, 40000]]
      ramp_delay_months: {dist: lognormal, median: 2, p90: 8, factor: hbm_ramp}
      capacity_factor: {dist: normal, mean: 1.0, sd: 0.05, min: 0.8, max: 1.1}
      disruption:
        rate_per_year: 0.15
        loss: {dist: uniform, min: 0.1, max: 0.5}
        recovery_months: {dist: triangular, min: 1, mode: 3, max: 9}
    - name: Samsung
      wafers_per_month: [[2026-06, 10000]]
      hbm_yield: {initial: 0.5, mature: 0.8, tau_months: 6}
)";

const std::string supply_block = R"(supply:
  program_share: {dist: beta, mean: 0.2, sd: 0.05}
  stacks_per_wafer: {dist: triangular, min: 19, mode: 24, max: 29}
  stacks_per_accelerator: 8
  kw_per_accelerator: {dist: pert, min: 2.8, mode: 3.3, max: 4.0}
  lead_time_months: {dist: uniform, min: 3, max: 8}
  packaging_cap_gw: [[2026-01, 0.8], [2027-12, 2.0]]
)" + hbm_yield_block + R"(  package_yield: {initial: 0.85, mature: 0.95, tau_months: 12}
)" + suppliers_block;

const std::string deals_block = R"(  deals:
    - name: Oracle
      kind: schedule
      tranches: [[2026-03, 20], [2026-09, 20], [2027-03, 25]]
      delay_months: {dist: uniform, min: 0, max: 6}
      close_probability: 0.95
      cancel_hazard_per_year: 0.03
    - name: Nvidia
      kind: per_gw
      start: 2026-07
      advance: 10
      per_gw: 10
      cap: 100
      lag_months: 1
      close_probability: {dist: bernoulli, p: 0.5, factor: grid}
)";

const std::string funding_block = R"(funding:
  capex_per_gw: {dist: lognormal, median: 50, p90: 70}
)" + deals_block;

const std::string sites_block = R"(sites:
  - name: Abilene TX
    priority: 1
    funded_by: [Oracle, Nvidia]
    target_gw: [[2026-01, 0.2], [2027-06, 1.2]]
    build_rate_gw: 0.15
    power:
      schedule: [[2026-01, 0.2], [2026-09, 0.9], [2027-03, 1.2]]
      delay_months: {dist: lognormal, median: 3, p90: 12, factor: grid, sign: -1}
      availability: {dist: pert, min: 0.7, mode: 0.95, max: 1.0}
      failure_probability: 0.02
  - name: Milam TX
    funded_by: [Nvidia]
    target_gw: [[2027-01, 0.5]]
    build_rate_gw: {dist: normal, mean: 0.1, sd: 0.02, min: 0}
    power:
      schedule: [[2026-06, 0.5]]
)";

const std::string base_yaml =
    scenario_block + correlation_block + supply_block + funding_block + sites_block;

// --- Helpers ---------------------------------------------------------------------------------

/// A textual replacement; `from` must occur exactly once in the text it applies to.
struct Edit {
  std::string from;
  std::string to;
};

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++count;
  return count;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Applies the edits in order; an edit whose `from` does not occur exactly once is a broken
/// test, reported as a failure.
::testing::AssertionResult apply_edits(const std::string& base, const std::vector<Edit>& edits,
                                       std::string& out) {
  out = base;
  for (const Edit& e : edits) {
    const std::size_t n = count_of(out, e.from);
    if (n != 1)
      return ::testing::AssertionFailure()
             << "edit target occurs " << n << " times (expected once): '" << e.from << "'";
    out.replace(out.find(e.from), e.from.size(), e.to);
  }
  return ::testing::AssertionSuccess();
}

/// 1-based line of the only occurrence of `marker` in `text` (yaml-cpp marks are 0-based; the
/// messages print them 1-based). 0 when the marker is missing or ambiguous.
int line_of(const std::string& text, const std::string& marker) {
  if (count_of(text, marker) != 1) return 0;
  const std::size_t at = text.find(marker);
  return 1 + static_cast<int>(count_of(text.substr(0, at), "\n"));
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// A fresh directory under the system temp dir, removed at the end of the test.
struct ScratchDir {
  ScratchDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "caprisk-config-errors-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove_all(path, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return path + "/" + name; }
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream(file(name), std::ios::binary) << bytes;
    return file(name);
  }
  std::string path;
};

struct CliResult {
  int exit_code = -1;  ///< -1: killed by a signal or not run
  std::string out;
  std::string err;
};

/// Runs `caprisk validate CONFIG`, with stdout and stderr captured apart.
CliResult run_validate(const std::string& config, const ScratchDir& scratch) {
  const std::string out_file = scratch.file("stdout.txt");
  const std::string err_file = scratch.file("stderr.txt");
  const std::string command = shell_quote(CAPRISK_BINARY) + " validate " + shell_quote(config) +
                              " >" + shell_quote(out_file) + " 2>" + shell_quote(err_file);
  const int status = std::system(command.c_str());
  CliResult result;
  if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  result.out = read_file(out_file);
  result.err = read_file(err_file);
  return result;
}

/// Exactly one line, "caprisk: error: ...\n": no stack trace, no "terminate called".
void expect_one_error_line(const CliResult& r) {
  EXPECT_TRUE(r.out.empty()) << "stdout: " << r.out;
  EXPECT_EQ(r.err.rfind("caprisk: error: ", 0), 0u) << "stderr: " << r.err;
  EXPECT_EQ(count_of(r.err, "\n"), 1u) << "stderr: " << r.err;
  EXPECT_TRUE(!r.err.empty() && r.err.back() == '\n') << "stderr: " << r.err;
  EXPECT_FALSE(contains(r.err, "terminate called")) << "stderr: " << r.err;
}

// --- Config errors: a valid base, edited --------------------------------------------------

/// One broken config: `caprisk validate` must exit `exit_code` and print one line located at
/// the line of `at` (the only occurrence of that text in the edited YAML), naming `field`,
/// containing every one of `words` and none of `absent`.
struct ErrorCase {
  std::string name;
  std::string base;
  std::vector<Edit> edits;
  std::string at;
  std::string field;  ///< the field path printed after the location; "" for whole-file errors
  std::vector<std::string> words;
  std::vector<std::string> absent;
  int exit_code = 2;
};

void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

/// A case on `base` after `edits`, expecting exit code 2.
ErrorCase make_case(std::string name, std::string base, std::vector<Edit> edits, std::string at,
                    std::string field, std::vector<std::string> words) {
  ErrorCase c;
  c.name = std::move(name);
  c.base = std::move(base);
  c.edits = std::move(edits);
  c.at = std::move(at);
  c.field = std::move(field);
  c.words = std::move(words);
  return c;
}

ErrorCase edited(std::string name, std::vector<Edit> edits, std::string at, std::string field,
                 std::vector<std::string> words) {
  return make_case(std::move(name), base_yaml, std::move(edits), std::move(at), std::move(field),
                   std::move(words));
}

ErrorCase edited(std::string name, Edit edit, std::string at, std::string field,
                 std::vector<std::string> words) {
  return edited(std::move(name), std::vector<Edit>{std::move(edit)}, std::move(at),
                std::move(field), std::move(words));
}

/// Replaces the text `from` (which must occur once) by `to`; the error must be on `to`'s line.
ErrorCase changed(std::string name, std::string from, std::string to, std::string field,
                  std::vector<std::string> words) {
  std::string at = to;
  return edited(std::move(name), Edit{std::move(from), std::move(to)}, std::move(at),
                std::move(field), std::move(words));
}

/// A case on a whole YAML text of its own rather than an edit of the base.
ErrorCase from_text(std::string name, std::string yaml, std::string at, std::string field,
                    std::vector<std::string> words) {
  return make_case(std::move(name), std::move(yaml), {}, std::move(at), std::move(field),
                   std::move(words));
}

/// The same case, also asking that the message contain none of `absent`.
ErrorCase without(ErrorCase c, std::vector<std::string> absent) {
  c.absent = std::move(absent);
  return c;
}

const std::string not_psd_correlation = R"(correlation:
  factors: [hbm_ramp, grid, deal_market]
  matrix:
    - [1.0, 0.9, -0.9]
    - [0.9, 1.0, 0.9]
    - [-0.9, 0.9, 1.0]
)";

/// "first, first + step, ..." (count numbers), for long lists.
std::string numbers_from(double first, double step, int count) {
  std::ostringstream out;
  for (int i = 0; i < count; ++i) out << (i ? ", " : "") << first + step * i;
  return out.str();
}

/// "[1900-01, 1], [1900-02, 1], ..." (count monthly points from 1900-01).
std::string monthly_points(int count) {
  std::ostringstream out;
  for (int i = 0; i < count; ++i) {
    char month[16];
    std::snprintf(month, sizeof month, "%04d-%02d", 1900 + i / 12, i % 12 + 1);
    out << (i ? ", " : "") << "[" << month << ", 1]";
  }
  return out.str();
}

std::vector<ErrorCase> config_error_cases() {
  return {
      // Wrong types.
      changed("StringForNumber", "stacks_per_accelerator: 8", "stacks_per_accelerator: eight",
              "supply.stacks_per_accelerator", {"expected a number >= 0.01", "'eight'"}),
      edited("ListForMap",
             Edit{"    power:\n      schedule: [[2026-06, 0.5]]", "    power: [[2026-06, 0.5]]"},
             "power: [[2026-06, 0.5]]", "sites[1].power", {"expected a mapping", "a list"}),
      changed("MapForList", "funded_by: [Nvidia]", "funded_by: {deal: Nvidia}",
              "sites[1].funded_by", {"expected a list", "a mapping"}),
      changed("HorizonNotWhole", "horizon_months: 36", "horizon_months: 36.5",
              "scenario.horizon_months", {"expected a whole number in [1, 1200]", "36.5"}),
      changed("ListForDistribution", "lead_time_months: {dist: uniform, min: 3, max: 8}",
              "lead_time_months: [3, 8]", "supply.lead_time_months",
              {"expected a number or a distribution mapping", "a list"}),
      changed("StringForMatrixEntry", "- [0.3, 1.0]", "- [0.3, high]", "correlation.matrix[1][1]",
              {"expected a number", "'high'"}),
      changed("PriorityNotWhole", "priority: 1", "priority: first", "sites[0].priority",
              {"expected a whole number", "'first'"}),
      from_text("RootIsAList", "- scenario\n- sites\n", "- scenario", "",
                {"expected a mapping with keys scenario, supply, funding, sites", "a list"}),
      // A field that takes any real number must not describe its range as ">= -inf".
      without(changed("StringForAnyRealNumber",
                      "ramp_delay_months: {dist: lognormal, median: 2, p90: 8, factor: hbm_ramp}",
                      "ramp_delay_months: soon", "supply.suppliers[0].ramp_delay_months",
                      {"expected a number", "'soon'"}),
              {"-inf"}),
      // An empty value is reported on its own line, not on the line of what follows it.
      edited("EmptyValue", Edit{"    build_rate_gw: 0.15\n", "    build_rate_gw:\n"},
             "build_rate_gw:\n", "sites[0].build_rate_gw",
             {"no value given after 'build_rate_gw:'"}),
      edited("EmptySiteName", Edit{"  - name: Milam TX\n", "  - name:\n"}, "- name:\n",
             "sites[1].name", {"no value given after 'name:'"}),

      // Missing required keys: reported at the start of the mapping that lacks them.
      edited("MissingScenarioName", Edit{"  name: base\n", ""}, "start: 2026-01", "scenario.name",
             {"missing required key 'name'"}),
      edited("MissingScenarioStart", Edit{"  start: 2026-01\n", ""}, "name: base", "scenario.start",
             {"missing required key 'start'"}),
      edited("MissingSuppliers", Edit{suppliers_block, ""}, "program_share:", "supply.suppliers",
             {"missing required key 'suppliers'"}),
      edited("MissingFundedBy", Edit{"    funded_by: [Oracle, Nvidia]\n", ""}, "- name: Abilene TX",
             "sites[0].funded_by", {"missing required key 'funded_by'"}),
      edited("MissingPowerSchedule",
             Edit{"      schedule: [[2026-01, 0.2], [2026-09, 0.9], [2027-03, 1.2]]\n", ""},
             "delay_months: {dist: lognormal, median: 3", "sites[0].power.schedule",
             {"missing required key 'schedule'"}),
      edited("MissingCapexPerGw",
             Edit{"  capex_per_gw: {dist: lognormal, median: 50, p90: 70}\n", ""},
             "  deals:", "funding.capex_per_gw", {"missing required key 'capex_per_gw'"}),
      edited("MissingHbmYield", Edit{hbm_yield_block, ""}, "program_share:", "supply.hbm_yield",
             {"missing required key 'hbm_yield'"}),
      edited("MissingSitesSection", Edit{sites_block, ""}, "scenario:", "sites",
             {"missing required key 'sites'"}),
      edited("MissingPerGwAmount", Edit{"      per_gw: 10\n", ""}, "- name: Nvidia",
             "funding.deals[1].per_gw", {"missing required key 'per_gw'"}),
      changed("MissingDistName",
              "capacity_factor: {dist: normal, mean: 1.0, sd: 0.05, min: 0.8, max: 1.1}",
              "capacity_factor: {mean: 1.0, sd: 0.05}", "supply.suppliers[0].capacity_factor.dist",
              {"missing required key 'dist'"}),

      // Unknown keys, with a suggestion when one is close.
      changed("UnknownKeyHorizonMonth", "horizon_months: 36", "horizon_month: 36",
              "scenario.horizon_month",
              {"unknown key 'horizon_month'", "did you mean 'horizon_months'?"}),
      changed("UnknownKeyFundedBye", "funded_by: [Nvidia]", "funded_bye: [Nvidia]",
              "sites[1].funded_bye", {"unknown key 'funded_bye'", "did you mean 'funded_by'?"}),
      edited("UnknownTopLevelKey", Edit{"sites:\n", "outputs: csv\nsites:\n"}, "outputs: csv",
             "outputs", {"unknown key 'outputs'", "allowed keys: scenario, correlation, supply"}),
      edited("TopLevelTypo", Edit{"sites:\n", "site:\n"}, "site:\n", "site",
             {"unknown key 'site'", "did you mean 'sites'?"}),
      changed("UnknownDistributionParameter", "lead_time_months: {dist: uniform, min: 3, max: 8}",
              "lead_time_months: {dist: uniform, min: 3, max: 8, mode: 5}",
              "supply.lead_time_months.mode", {"unknown key 'mode'", "allowed keys: min, max"}),
      edited("PerGwKeyOnScheduleDeal",
             Edit{"      kind: schedule\n", "      kind: schedule\n      per_gw: 12\n"},
             "per_gw: 12", "funding.deals[0].per_gw", {"unknown key 'per_gw'"}),
      edited("LagMonthsOnScheduleDeal",
             Edit{"      kind: schedule\n", "      kind: schedule\n      lag_months: 2\n"},
             "lag_months: 2", "funding.deals[0].lag_months", {"unknown key 'lag_months'"}),
      edited("TranchesOnPerGwDeal",
             Edit{"      kind: per_gw\n", "      kind: per_gw\n      tranches: [[2026-01, 5]]\n"},
             "tranches: [[2026-01, 5]]", "funding.deals[1].tranches", {"unknown key 'tranches'"}),

      // Months and schedules.
      changed("MonthThirteen", "start: 2026-01", "start: 2026-13", "scenario.start",
              {"expected a month as YYYY-MM", "'2026-13'"}),
      changed("MonthOneDigit", "start: 2026-01", "start: 2026-1", "scenario.start",
              {"expected a month as YYYY-MM", "'2026-1'"}),
      changed("MonthInWords", "start: 2026-01", "start: Jan 2026", "scenario.start",
              {"expected a month as YYYY-MM", "'Jan 2026'"}),
      changed("ScheduleBadMonth", "[[2026-01, 20000], [2027-12, 40000]]",
              "[[2026-01, 20000], [2027-13, 40000]]", "supply.suppliers[0].wafers_per_month[1][0]",
              {"expected a month", "'2027-13'"}),
      changed("ScheduleNotIncreasing", "target_gw: [[2026-01, 0.2], [2027-06, 1.2]]",
              "target_gw: [[2026-01, 0.2], [2025-06, 1.2]]", "sites[0].target_gw[1][0]",
              {"strictly increasing", "2025-06"}),
      changed("ScheduleRepeatedMonth", "schedule: [[2026-06, 0.5]]",
              "schedule: [[2026-06, 0.5], [2026-06, 0.7]]", "sites[1].power.schedule[1][0]",
              {"strictly increasing", "2026-06"}),
      changed("ScheduleEntryNotAPair", "wafers_per_month: [[2026-06, 10000]]",
              "wafers_per_month: [2026-06, 10000]", "supply.suppliers[1].wafers_per_month[0]",
              {"expected a schedule", "[YYYY-MM, value] pairs"}),
      changed("ScheduleEmpty", "target_gw: [[2027-01, 0.5]]", "target_gw: []", "sites[1].target_gw",
              {"expected a schedule"}),

      // Negative values.
      changed("NegativeBuildRate", "build_rate_gw: 0.15", "build_rate_gw: -0.15",
              "sites[0].build_rate_gw", {"must be >= 0", "-0.15"}),
      changed("NegativeWafers", "wafers_per_month: [[2026-06, 10000]]",
              "wafers_per_month: [[2026-06, -10000]]", "supply.suppliers[1].wafers_per_month[0][1]",
              {"must be >= 0", "-10000"}),
      changed("NegativeCancelHazard", "cancel_hazard_per_year: 0.03",
              "cancel_hazard_per_year: -0.03", "funding.deals[0].cancel_hazard_per_year",
              {"must be >= 0"}),
      changed("NegativeDisruptionRate", "rate_per_year: 0.15", "rate_per_year: -1",
              "supply.suppliers[0].disruption.rate_per_year", {"must be >= 0"}),
      changed("ZeroCapexPerGw", "capex_per_gw: {dist: lognormal, median: 50, p90: 70}",
              "capex_per_gw: 0", "funding.capex_per_gw", {"must be >= 0.001"}),

      // Non-finite values: YAML's .nan and .inf are numbers, but not finite ones.
      changed("NanValue", "mature: 0.85", "mature: .nan", "supply.hbm_yield.mature",
              {"finite", ".nan"}),
      changed("InfValue", "advance: 10", "advance: .inf", "funding.deals[1].advance",
              {"finite", ".inf"}),
      changed("NegativeInfValue",
              "ramp_delay_months: {dist: lognormal, median: 2, p90: 8, factor: hbm_ramp}",
              "ramp_delay_months: -.inf", "supply.suppliers[0].ramp_delay_months",
              {"finite", "-.inf"}),
      changed("InfDistributionParameter", "lead_time_months: {dist: uniform, min: 3, max: 8}",
              "lead_time_months: {dist: uniform, min: 3, max: .inf}", "supply.lead_time_months.max",
              {"finite", ".inf"}),
      changed("PlainNanValue", "stacks_per_accelerator: 8", "stacks_per_accelerator: nan",
              "supply.stacks_per_accelerator", {"finite", "nan"}),

      // Probabilities outside [0, 1].
      changed("CloseProbabilityAboveOne", "close_probability: 0.95", "close_probability: 1.5",
              "funding.deals[0].close_probability", {"must be in [0, 1]", "1.5"}),
      changed("BernoulliPNegative", "{dist: bernoulli, p: 0.5, factor: grid}",
              "{dist: bernoulli, p: -0.5, factor: grid}", "funding.deals[1].close_probability.p",
              {"must be in [0, 1]", "-0.5"}),
      changed("FailureProbabilityTwo", "failure_probability: 0.02", "failure_probability: 2",
              "sites[0].power.failure_probability", {"must be in [0, 1]"}),
      changed("ProbabilityAsUniform", "close_probability: 0.95",
              "close_probability: {dist: uniform, min: 0.5, max: 1}",
              "funding.deals[0].close_probability.dist",
              {"a probability is a number in [0, 1] or {dist: bernoulli"}),
      changed("AvailabilityAboveOne", "availability: {dist: pert, min: 0.7, mode: 0.95, max: 1.0}",
              "availability: 1.2", "sites[0].power.availability", {"must be in [0, 1]", "1.2"}),
      changed("ShareSupportAboveOne", "program_share: {dist: beta, mean: 0.2, sd: 0.05}",
              "program_share: {dist: uniform, min: 0.5, max: 1.5}", "supply.program_share",
              {"values must all be in [0, 1]", "uniform ranges over [0.5, 1.5]"}),

      // Invalid distribution parameters.
      changed("NormalSdZero",
              "capacity_factor: {dist: normal, mean: 1.0, sd: 0.05, min: 0.8, max: 1.1}",
              "capacity_factor: {dist: normal, mean: 1.0, sd: 0, min: 0.8, max: 1.1}",
              "supply.suppliers[0].capacity_factor.sd", {"must be > 0"}),
      changed("NormalSdNegative", "build_rate_gw: {dist: normal, mean: 0.1, sd: 0.02, min: 0}",
              "build_rate_gw: {dist: normal, mean: 0.1, sd: -0.02, min: 0}",
              "sites[1].build_rate_gw.sd", {"must be > 0", "-0.02"}),
      changed("UniformMaxBelowMin", "lead_time_months: {dist: uniform, min: 3, max: 8}",
              "lead_time_months: {dist: uniform, min: 3, max: 2}", "supply.lead_time_months.max",
              {"must be greater than min"}),
      changed("UniformMaxEqualsMin", "delay_months: {dist: uniform, min: 0, max: 6}",
              "delay_months: {dist: uniform, min: 6, max: 6}", "funding.deals[0].delay_months.max",
              {"must be greater than min"}),
      changed("TriangularModeAboveMax", "{dist: triangular, min: 19, mode: 24, max: 29}",
              "{dist: triangular, min: 19, mode: 30, max: 29}", "supply.stacks_per_wafer.mode",
              {"must lie in [min, max] = [19, 29]"}),
      changed("PertModeBelowMin", "{dist: pert, min: 2.8, mode: 3.3, max: 4.0}",
              "{dist: pert, min: 2.8, mode: 2.5, max: 4.0}", "supply.kw_per_accelerator.mode",
              {"must lie in [min, max]"}),
      changed("LognormalP90BelowMedian", "tau_months: {dist: lognormal, median: 9, p90: 15}",
              "tau_months: {dist: lognormal, median: 9, p90: 8}", "supply.hbm_yield.tau_months.p90",
              {"must be greater than median"}),
      changed("LognormalP90EqualsMedian",
              "{dist: lognormal, median: 3, p90: 12, factor: grid, sign: -1}",
              "{dist: lognormal, median: 3, p90: 3, factor: grid, sign: -1}",
              "sites[0].power.delay_months.p90", {"must be greater than median"}),
      changed("LognormalMedianZero", "capex_per_gw: {dist: lognormal, median: 50, p90: 70}",
              "capex_per_gw: {dist: lognormal, median: 0, p90: 70}", "funding.capex_per_gw.median",
              {"must be > 0"}),
      changed("LognormalBothForms", "capex_per_gw: {dist: lognormal, median: 50, p90: 70}",
              "capex_per_gw: {dist: lognormal, median: 50, p90: 70, sigma: 0.3}",
              "funding.capex_per_gw", {"either median and p90, or mu and sigma"}),
      changed("BetaMeanAboveOne", "program_share: {dist: beta, mean: 0.2, sd: 0.05}",
              "program_share: {dist: beta, mean: 1.2, sd: 0.05}", "supply.program_share.mean",
              {"must be in (0, 1)", "1.2"}),
      changed("BetaMeanZero", "program_share: {dist: beta, mean: 0.2, sd: 0.05}",
              "program_share: {dist: beta, mean: 0, sd: 0.05}", "supply.program_share.mean",
              {"must be in (0, 1)"}),
      changed("BetaSdTooLarge", "program_share: {dist: beta, mean: 0.2, sd: 0.05}",
              "program_share: {dist: beta, mean: 0.2, sd: 0.45}", "supply.program_share.sd",
              {"too large for the mean", "sqrt(mean (1 - mean)) = 0.4"}),
      changed("UnknownDistributionName", "program_share: {dist: beta, mean: 0.2, sd: 0.05}",
              "program_share: {dist: gamma, shape: 2, scale: 0.1}", "supply.program_share.dist",
              {"unknown distribution 'gamma'", "expected one of fixed, uniform, normal"}),
      changed("NormalWithoutMinForNonNegative",
              "build_rate_gw: {dist: normal, mean: 0.1, sd: 0.02, min: 0}",
              "build_rate_gw: {dist: normal, mean: 0.1, sd: 0.02}", "sites[1].build_rate_gw",
              {"must all be >= 0", "add 'min' to truncate the normal"}),
      changed("NormalMinBelowRange", "build_rate_gw: {dist: normal, mean: 0.1, sd: 0.02, min: 0}",
              "build_rate_gw: {dist: normal, mean: 0.1, sd: 0.02, min: -1}",
              "sites[1].build_rate_gw", {"must all be >= 0", "normal ranges over [-1, "}),
      changed("TriangularTouchingZeroForPositive",
              "tau_months: {dist: lognormal, median: 9, p90: 15}",
              "tau_months: {dist: triangular, min: 0, mode: 8, max: 10}",
              "supply.hbm_yield.tau_months", {"must all be > 0", "[0, 10]"}),
      changed("FixedWithoutValue", "stacks_per_accelerator: 8",
              "stacks_per_accelerator: {dist: fixed}", "supply.stacks_per_accelerator.value",
              {"missing required key 'value'"}),
      changed("SignWithoutFactor", "tau_months: {dist: lognormal, median: 9, p90: 15}",
              "tau_months: {dist: lognormal, median: 9, p90: 15, sign: -1}",
              "supply.hbm_yield.tau_months.sign", {"'sign' needs a 'factor'"}),
      changed("SignZero", "{dist: lognormal, median: 3, p90: 12, factor: grid, sign: -1}",
              "{dist: lognormal, median: 3, p90: 12, factor: grid, sign: 0}",
              "sites[0].power.delay_months.sign", {"must be 1 or -1"}),

      // Names: duplicates and references.
      changed("DuplicateSiteName", "- name: Milam TX", "- name: 'Abilene TX'", "sites[1].name",
              {"duplicate name 'Abilene TX'"}),
      changed("DuplicateDealName", "- name: Nvidia", "- name: \"Oracle\"", "funding.deals[1].name",
              {"duplicate name 'Oracle'"}),
      changed("DuplicateSupplierName", "- name: Samsung", "- name: \"SK hynix\"",
              "supply.suppliers[1].name", {"duplicate name 'SK hynix'"}),
      edited("DuplicateYamlKey", Edit{"  seed: 42\n", "  seed: 42\n  seed: 43\n"}, "seed: 43",
             "scenario.seed", {"duplicate key"}),
      // A second top-level section: the key, not its value, is the duplicate.
      edited("DuplicateSection", Edit{"sites:\n", "funding:\n  capex_per_gw: 40\nsites:\n"},
             "funding:\n  capex_per_gw: 40", "funding", {"duplicate key"}),
      changed("DuplicateFactorName", "factors: [hbm_ramp, grid]", "factors: [hbm_ramp, hbm_ramp]",
              "correlation.factors[1]", {"duplicate factor name 'hbm_ramp'"}),
      changed("FundedByUnknownDeal", "funded_by: [Nvidia]", "funded_by: [Nvida]",
              "sites[1].funded_by[0]",
              {"unknown deal 'Nvida'", "funding.deals has: Oracle, Nvidia"}),
      changed("FundedByTwice", "funded_by: [Oracle, Nvidia]", "funded_by: [Oracle, Oracle]",
              "sites[0].funded_by[1]", {"deal 'Oracle' is listed twice"}),
      changed("FundedByEmpty", "funded_by: [Nvidia]", "funded_by: []", "sites[1].funded_by",
              {"must name at least one deal"}),
      changed("UnknownFactor",
              "ramp_delay_months: {dist: lognormal, median: 2, p90: 8, factor: hbm_ramp}",
              "ramp_delay_months: {dist: lognormal, median: 2, p90: 8, factor: hbm_rmp}",
              "supply.suppliers[0].ramp_delay_months.factor",
              {"unknown factor 'hbm_rmp'", "correlation.factors lists: hbm_ramp, grid"}),
      edited("FactorWithoutCorrelation", Edit{correlation_block, ""}, "factor: hbm_ramp",
             "supply.suppliers[0].ramp_delay_months.factor",
             {"unknown factor 'hbm_ramp'", "(none)"}),
      changed("FactorOnDisruptionLoss", "loss: {dist: uniform, min: 0.1, max: 0.5}",
              "loss: {dist: uniform, min: 0.1, max: 0.5, factor: grid}",
              "supply.suppliers[0].disruption.loss.factor",
              {"a factor is not allowed here", "drawn afresh for every event"}),
      changed("FactorOnDisruptionRecovery",
              "recovery_months: {dist: triangular, min: 1, mode: 3, max: 9}",
              "recovery_months: {dist: triangular, min: 1, mode: 3, max: 9, factor: hbm_ramp}",
              "supply.suppliers[0].disruption.recovery_months.factor",
              {"a factor is not allowed here"}),

      // Correlation.
      edited("MatrixTooManyRows",
             Edit{"    - [0.3, 1.0]\n", "    - [0.3, 1.0]\n    - [0.0, 0.0]\n"}, "- [1.0, 0.3]",
             "correlation.matrix", {"not square", "expected 2 rows", "got 3"}),
      changed("MatrixRowTooShort", "- [0.3, 1.0]", "- [0.3]", "correlation.matrix[1]",
              {"not square", "expected 2 entries, got 1"}),
      edited("MatrixNotSymmetric", Edit{"- [0.3, 1.0]", "- [0.4, 1.0]"}, "- [1.0, 0.3]",
             "correlation.matrix[0][1]", {"not symmetric", "= 0.3", "= 0.4"}),
      changed("MatrixDiagonalNotOne", "- [1.0, 0.3]", "- [0.9, 0.3]", "correlation.matrix[0][0]",
              {"diagonal entries must be 1", "0.9"}),
      edited("MatrixRhoAboveOne",
             std::vector<Edit>{{"- [1.0, 0.3]", "- [1.0, 1.2]"}, {"- [0.3, 1.0]", "- [1.2, 1.0]"}},
             "- [1.0, 1.2]", "correlation.matrix[0][1]", {"must be in [-1, 1]", "1.2"}),
      edited("MatrixNotPositiveSemidefinite", Edit{correlation_block, not_psd_correlation},
             "- [1.0, 0.9, -0.9]", "correlation.matrix", {"not positive semidefinite"}),
      edited("StudentTWithoutDf", Edit{"  copula: gaussian\n", "  copula: student_t\n"},
             "copula: student_t", "correlation.df", {"missing required key 'df'"}),
      edited("StudentTDfTwo", Edit{"  copula: gaussian\n", "  copula: student_t\n  df: 2\n"},
             "df: 2", "correlation.df", {"needs df > 2"}),
      edited("StudentTDfNegative", Edit{"  copula: gaussian\n", "  copula: student_t\n  df: -3\n"},
             "df: -3", "correlation.df", {"must be > 0"}),
      edited("DfWithGaussian", Edit{"  copula: gaussian\n", "  copula: gaussian\n  df: 5\n"},
             "df: 5", "correlation.df", {"df applies only to copula: student_t"}),
      changed("UnknownCopula", "copula: gaussian", "copula: clayton", "correlation.copula",
              {"expected gaussian or student_t", "'clayton'"}),

      // Scenario limits.
      changed("HorizonZero", "horizon_months: 36", "horizon_months: 0", "scenario.horizon_months",
              {"expected a whole number in [1, 1200]", "got 0"}),
      changed("HorizonTooLarge", "horizon_months: 36", "horizon_months: 1201",
              "scenario.horizon_months", {"expected a whole number in [1, 1200]", "1201"}),
      changed("PathsZero", "paths: 1000", "paths: 0", "scenario.paths",
              {"expected a whole number in [1, 1000000000000]", "got 0"}),
      changed("PathsTooMany", "paths: 1000", "paths: 2e12", "scenario.paths",
              {"expected a whole number in [1, 1000000000000]", "2e12"}),
      changed("SeedNegative", "seed: 42", "seed: -1", "scenario.seed",
              {"expected a whole number in [0, "}),
      changed("PercentileAbove100", "percentiles: [5, 50, 95]", "percentiles: [5, 50, 100.5]",
              "scenario.percentiles[2]", {"must be in [0, 100]", "100.5"}),
      changed("PercentilesNotIncreasing", "percentiles: [5, 50, 95]", "percentiles: [5, 50, 50]",
              "scenario.percentiles[2]", {"strictly increasing"}),
      changed("PercentilesEmpty", "percentiles: [5, 50, 95]", "percentiles: []",
              "scenario.percentiles", {"must not be empty"}),
      changed("EveryReportMonthAfterHorizon", "report_months: [2026-06, 2026-12, 2027-12]",
              "report_months: [2029-01, 2030-12]", "scenario.report_months",
              {"every report month is after the horizon's last month 2028-12"}),
      changed("ReportMonthBeforeStart", "report_months: [2026-06, 2026-12, 2027-12]",
              "report_months: [2025-12, 2026-12, 2027-12]", "scenario.report_months[0]",
              {"outside the horizon"}),
      changed("ReportMonthsNotIncreasing", "report_months: [2026-06, 2026-12, 2027-12]",
              "report_months: [2026-12, 2026-06, 2027-12]", "scenario.report_months[1]",
              {"strictly increasing"}),
      changed("ToleranceOne", "on_target_tolerance: 0.02", "on_target_tolerance: 1",
              "scenario.on_target_tolerance", {"must be < 1"}),
      changed("EmptyScenarioName", "name: base", "name: ''", "scenario.name",
              {"expected a non-empty name"}),

      // Sites, deals and suppliers.
      edited("EmptySitesList", Edit{sites_block, "sites: []\n"}, "sites: []", "sites",
             {"must list at least one site"}),
      edited("SitesNotAList", Edit{sites_block, "sites: {name: Abilene TX}\n"}, "sites: {", "sites",
             {"expected a list", "a mapping"}),
      changed("SiteNamedAll", "- name: Milam TX", "- name: ALL", "sites[1].name",
              {"'ALL' is reserved"}),
      edited("EmptyDealsList", Edit{deals_block, "  deals: []\n"}, "deals: []", "funding.deals",
             {"must list at least one deal"}),
      edited("EmptySuppliersList", Edit{suppliers_block, "  suppliers: []\n"}, "suppliers: []",
             "supply.suppliers", {"must list at least one supplier"}),
      changed("UnknownDealKind", "kind: schedule", "kind: loan", "funding.deals[0].kind",
              {"expected schedule or per_gw", "'loan'"}),
      changed("LagMonthsTooLarge", "lag_months: 1", "lag_months: 37", "funding.deals[1].lag_months",
              {"expected a whole number in [0, 36]", "37"}),
      changed("LagMonthsNegative", "lag_months: 1", "lag_months: -1", "funding.deals[1].lag_months",
              {"expected a whole number in [0, 36]"}),
      changed("DealStartBadMonth", "start: 2026-07", "start: July 2026", "funding.deals[1].start",
              {"expected a month as YYYY-MM", "'July 2026'"}),
      changed("SupplierYieldUnknownKey", "hbm_yield: {initial: 0.5, mature: 0.8, tau_months: 6}",
              "hbm_yield: {initial: 0.5, mature: 0.8, tau_month: 6}",
              "supply.suppliers[1].hbm_yield.tau_month",
              {"unknown key 'tau_month'", "did you mean 'tau_months'?",
               "allowed keys: initial, mature, tau_months"}),
      // A typo in a deal's 'kind' key is an unknown key like any other, not a missing 'kind'.
      changed("DealKindKeyTypo", "      kind: schedule", "      kidn: schedule",
              "funding.deals[0].kidn", {"unknown key 'kidn'", "did you mean 'kind'?"}),

      // Names reach CSV, JSON, terminals and file names: valid UTF-8, printable, short.
      changed("NameNotUtf8", "name: Abilene TX", "name: Abilene \xff TX", "sites[0].name",
              {"is not valid UTF-8", "\\xff"}),
      changed("NameWithAnEscapeSequence", "name: Abilene TX", "name: \"Abi\\e[31mlene\"",
              "sites[0].name", {"contains a control character"}),
      changed("NameWithNul", "name: SK hynix", "name: \"SK\\0hynix\"",
              "supply.suppliers[0].name", {"contains a control character"}),
      changed("NameWithNewline", "name: Oracle", "name: \"Ora\\ncle\"", "funding.deals[0].name",
              {"contains a control character"}),
      changed("NameTooLong", "name: base", "name: " + std::string(201, 'x'), "scenario.name",
              {"201 bytes long; names are at most 200"}),
      changed("FactorNameWithBidiOverride", "factors: [hbm_ramp, grid]",
              "factors: [hbm_ramp, \"gr\\u202eid\"]", "correlation.factors[1]",
              {"bidirectional-text control"}),

      // Distributions the sampler cannot represent: a beta this concentrated.
      changed("BetaSdTooSmall", "program_share: {dist: beta, mean: 0.2, sd: 0.05}",
              "program_share: {dist: beta, mean: 0.5, sd: 1e-9}", "supply.program_share.sd",
              {"too small for a beta", "sd >= 5e-06"}),
      changed("BetaShapesTooLarge", "program_share: {dist: beta, mean: 0.2, sd: 0.05}",
              "program_share: {dist: beta, a: 1e100, b: 1e100}", "supply.program_share",
              {"a + b = 2e+100 is too large"}),
      changed("BetaShapesJustAboveTheLimit", "program_share: {dist: beta, mean: 0.2, sd: 0.05}",
              "program_share: {dist: beta, a: 3000000001, b: 7000000000}", "supply.program_share",
              {"is too large: at most 1e10"}),

      // Sizes: no finite input may overflow a table to inf or nan.
      changed("TargetBeyondTheSizeCap", "target_gw: [[2026-01, 0.2], [2027-06, 1.2]]",
              "target_gw: [[2026-01, 0.2], [2027-06, 1e308]]", "sites[0].target_gw[1][1]",
              {"at most 100000", "1e308"}),
      changed("LognormalDrawingBeyondTheCap",
              "delay_months: {dist: lognormal, median: 3, p90: 12, factor: grid, sign: -1}",
              "delay_months: {dist: lognormal, median: 3, p90: 1e9, factor: grid, sign: -1}",
              "sites[0].power.delay_months", {"at most 1e+09 in size", "can draw"}),
      changed("StacksPerAcceleratorTiny", "stacks_per_accelerator: 8",
              "stacks_per_accelerator: 1e-300", "supply.stacks_per_accelerator", {">= 0.01"}),
      changed("TranchesBeyondTheMoneyCap", "tranches: [[2026-03, 20], [2026-09, 20], [2027-03, 25]]",
              "tranches: [[2026-03, 20], [2026-09, 1e300], [2027-03, 25]]",
              "funding.deals[0].tranches[1][1]", {"at most 1e+07"}),

      // Lists: refused with their length and the limit.
      changed("TooManyPercentiles", "percentiles: [5, 50, 95]",
              "percentiles: [" + numbers_from(0.5, 0.5, 101) + "]", "scenario.percentiles",
              {"lists 101 percentiles; at most 100"}),
      changed("ScheduleTooLong", "tranches: [[2026-03, 20], [2026-09, 20], [2027-03, 25]]",
              "tranches: [" + monthly_points(2401) + "]", "funding.deals[0].tranches",
              {"has 2401 points; a schedule has at most 2400"}),

      // One document per file: a second one would be ignored silently by a plain reader.
      from_text("SecondYamlDocument", base_yaml + "---\nscenario: {name: other}\n", "---", "",
                {"a second YAML document starts here"}),
  };
}

class ConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrorTest, ValidatePrintsOneLocatedErrorLine) {
  const ErrorCase& c = GetParam();
  std::string yaml;
  ASSERT_TRUE(apply_edits(c.base, c.edits, yaml));
  const int line = line_of(yaml, c.at);
  ASSERT_GT(line, 0) << "the marker '" << c.at << "' must occur exactly once in:\n" << yaml;

  const ScratchDir scratch;
  ASSERT_FALSE(scratch.path.empty());
  const std::string path = scratch.write(c.name + ".yaml", yaml);
  const CliResult r = run_validate(path, scratch);

  EXPECT_EQ(r.exit_code, c.exit_code) << "stderr: " << r.err;
  expect_one_error_line(r);
  const std::string line_part = ":" + std::to_string(line) + ":";
  EXPECT_TRUE(contains(r.err, line_part)) << "expected line " << line << "; stderr: " << r.err;
  EXPECT_EQ(r.err.rfind("caprisk: error: " + path + line_part, 0), 0u)
      << "expected the location " << path << line_part << "COL; stderr: " << r.err;
  if (!c.field.empty()) {
    EXPECT_TRUE(contains(r.err, ": " + c.field + ": "))
        << "expected the field '" << c.field << "'; stderr: " << r.err;
  }
  for (const std::string& word : c.words)
    EXPECT_TRUE(contains(r.err, word)) << "expected '" << word << "'; stderr: " << r.err;
  for (const std::string& word : c.absent)
    EXPECT_FALSE(contains(r.err, word)) << "unexpected '" << word << "'; stderr: " << r.err;
}

INSTANTIATE_TEST_SUITE_P(Cases, ConfigErrorTest, ::testing::ValuesIn(config_error_cases()),
                         [](const ::testing::TestParamInfo<ErrorCase>& param_info) {
                           return param_info.param.name;
                         });

// --- Files that are not a readable YAML mapping ----------------------------------------------

enum class FileKind { bytes, directory, missing, fifo, device };

/// A file-level problem: the message must name the file; `line` > 0 also asks for FILE:LINE:.
struct FileCase {
  std::string name;
  FileKind kind;
  std::string bytes;
  int line;
  std::vector<std::string> words;
};

void PrintTo(const FileCase& c, std::ostream* os) {
  *os << c.name;
}

std::string edit_base(const std::string& from, const std::string& to) {
  std::string out;
  const ::testing::AssertionResult ok = apply_edits(base_yaml, {{from, to}}, out);
  return ok ? out : std::string("broken test: ") + ok.message();
}

std::vector<FileCase> file_cases() {
  return {
      {"BadIndentation",
       FileKind::bytes,
       edit_base("  start: 2026-01", "   start: 2026-01"),
       3,
       {"malformed YAML"}},
      {"KeyIndentedUnderScalar",
       FileKind::bytes,
       edit_base("  seed: 42\n", "  seed: 42\n      extra: 1\n"),
       6,
       {"malformed YAML"}},
      {"TabIndentation",
       FileKind::bytes,
       edit_base("  name: base", "\tname: base"),
       2,
       {"malformed YAML", "tab characters"}},
      {"UnclosedBracket",
       FileKind::bytes,
       edit_base("percentiles: [5, 50, 95]", "percentiles: [5, 50, 95"),
       0,
       {"malformed YAML", "end of sequence flow not found"}},
      {"UnclosedBrace",
       FileKind::bytes,
       edit_base("{dist: beta, mean: 0.2, sd: 0.05}", "{dist: beta, mean: 0.2, sd: 0.05"),
       0,
       {"malformed YAML"}},
      // yaml-cpp 0.7 accepts a quoted scalar left open at the end of the file (it swallows the
      // rest of the file), so the reader can only report what is then missing: still exit 2.
      {"UnterminatedQuote", FileKind::bytes, edit_base("name: base", "name: \"base"), 0, {}},
      {"BinaryWithNul",
       FileKind::bytes,
       std::string("\x7f"
                   "ELF\x02\x01\x00\x00\xff\xfe\x00\x10",
                   12),
       0,
       {"not a YAML text file", "NUL"}},
      {"BinaryWithoutNul",
       FileKind::bytes,
       std::string("\xff\xfe\x01\x02\x80\x81garbage\n"),
       0,
       {}},
      {"EmptyFile", FileKind::bytes, "", 0, {"the file is empty"}},
      {"OnlyComments", FileKind::bytes, "# nothing here yet\n\n", 0, {"the file is empty"}},
      {"ScalarDocument",
       FileKind::bytes,
       "just some words\n",
       1,
       {"expected a mapping with keys scenario"}},
      {"Directory", FileKind::directory, "", 0, {"cannot read the config", "directory"}},
      {"Fifo", FileKind::fifo, "", 0, {"cannot read the config", "not a regular file"}},
      {"DevZero", FileKind::device, "", 0, {"cannot read the config", "not a regular file"}},
      {"LargerThanTheSizeCap",
       FileKind::bytes,
       base_yaml + std::string(5 << 20, '#'),
       0,
       {"cannot read the config", "bytes; a config is at most 4194304 bytes"}},
      {"NestedTenThousandDeep",
       FileKind::bytes,
       "scenario: " + std::string(10000, '[') + std::string(10000, ']') + "\n",
       1,
       {"nested deeper than 64 levels"}},
      {"BlockListsNestedDeep",
       FileKind::bytes,
       "scenario:\n  - " + [] {
         std::string dashes;
         for (int i = 0; i < 5000; ++i) dashes += "- ";
         return dashes;
       }() + "x\n",
       2,
       {"nested deeper than 64 levels"}},
      {"CarriageReturnLineEnds",
       FileKind::bytes,
       [] {
         std::string text = base_yaml;
         std::replace(text.begin(), text.end(), '\n', '\r');
         return text;
       }(),
       0,
       {"lines end with CR only"}},
      {"MissingFile", FileKind::missing, "", 0, {"cannot read the config", "no such file"}},
  };
}

class ConfigFileErrorTest : public ::testing::TestWithParam<FileCase> {};

TEST_P(ConfigFileErrorTest, ValidatePrintsOneErrorLineNamingTheFile) {
  const FileCase& c = GetParam();
  ASSERT_FALSE(contains(c.bytes, "broken test: ")) << c.bytes;
  const ScratchDir scratch;
  ASSERT_FALSE(scratch.path.empty());
  std::string path = scratch.file(c.name + ".yaml");
  if (c.kind == FileKind::bytes) {
    scratch.write(c.name + ".yaml", c.bytes);
  } else if (c.kind == FileKind::directory) {
    std::filesystem::create_directory(path);
  } else if (c.kind == FileKind::fifo) {
    ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);  // nobody writes it: reading would block forever
  } else if (c.kind == FileKind::device) {
    path = "/dev/zero";  // reading would never end
  }
  const CliResult r = run_validate(path, scratch);

  EXPECT_EQ(r.exit_code, 2) << "stderr: " << r.err;
  expect_one_error_line(r);
  const std::string location = "caprisk: error: " + path + ":";
  EXPECT_EQ(r.err.rfind(location, 0), 0u) << "expected the file named first; stderr: " << r.err;
  if (c.line > 0) {
    EXPECT_EQ(r.err.rfind(location + std::to_string(c.line) + ":", 0), 0u)
        << "expected line " << c.line << "; stderr: " << r.err;
  }
  for (const std::string& word : c.words)
    EXPECT_TRUE(contains(r.err, word)) << "expected '" << word << "'; stderr: " << r.err;
}

INSTANTIATE_TEST_SUITE_P(Files, ConfigFileErrorTest, ::testing::ValuesIn(file_cases()),
                         [](const ::testing::TestParamInfo<FileCase>& param_info) {
                           return param_info.param.name;
                         });

// --- Valid configs ---------------------------------------------------------------------------

TEST(ConfigValidate, ShippedConfigsAreValid) {
  const std::vector<std::pair<std::string, std::string>> configs = {
      {"configs/stargate.yaml", "stargate-base"}, {"configs/minimal.yaml", "minimal"}};
  for (const auto& [relative, scenario_name] : configs) {
    const ScratchDir scratch;
    const CliResult r = run_validate(std::string(CAPRISK_SOURCE_DIR) + "/" + relative, scratch);
    EXPECT_EQ(r.exit_code, 0) << relative << ": " << r.err;
    EXPECT_TRUE(r.err.empty()) << relative << ": " << r.err;
    EXPECT_TRUE(contains(r.out, "scenario:   " + scenario_name + "\n")) << r.out;
    EXPECT_TRUE(contains(r.out, "(valid)")) << r.out;
  }
}

TEST(ConfigValidate, BaseOfTheErrorCasesIsValid) {
  // Every error case above is one edit away from this config, so it must itself be valid.
  const ScratchDir scratch;
  const std::string path = scratch.write("base.yaml", base_yaml);
  const CliResult r = run_validate(path, scratch);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "scenario:   base\n")) << r.out;
  EXPECT_NO_THROW(parse_scenario(base_yaml, "base.yaml"));
}

// --- The exception itself, in process --------------------------------------------------------

/// The ConfigError that parse_scenario throws for `yaml`, or nullopt (a test failure).
std::optional<ConfigError> config_error_of(const std::string& yaml) {
  try {
    parse_scenario(yaml, "inline.yaml");
  } catch (const ConfigError& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected a ConfigError, got another exception: " << e.what();
    return std::nullopt;
  }
  ADD_FAILURE() << "expected a ConfigError, parse_scenario accepted the config";
  return std::nullopt;
}

TEST(ConfigErrorException, CarriesFileLineAndField) {
  struct Expected {
    std::vector<Edit> edits;
    std::string at;
    std::string field;
  };
  const std::vector<Expected> expectations = {
      {{{"tau_months: {dist: lognormal, median: 9, p90: 15}",
         "tau_months: {dist: lognormal, median: 9, p90: 8}"}},
       "p90: 8}",
       "supply.hbm_yield.tau_months.p90"},
      {{{"    funded_by: [Oracle, Nvidia]\n", ""}}, "- name: Abilene TX", "sites[0].funded_by"},
      {{{"failure_probability: 0.02", "failure_probability: 1.02"}},
       "failure_probability: 1.02",
       "sites[0].power.failure_probability"},
      {{{"- [0.3, 1.0]", "- [0.3, 1.0, 0.0]"}}, "- [0.3, 1.0, 0.0]", "correlation.matrix[1]"},
  };
  for (const Expected& x : expectations) {
    std::string yaml;
    ASSERT_TRUE(apply_edits(base_yaml, x.edits, yaml));
    const int line = line_of(yaml, x.at);
    ASSERT_GT(line, 0) << x.at;
    const std::optional<ConfigError> error = config_error_of(yaml);
    ASSERT_TRUE(error.has_value()) << x.field;
    EXPECT_EQ(error->file(), "inline.yaml");
    EXPECT_EQ(error->line(), line) << error->what();
    EXPECT_EQ(error->field(), x.field) << error->what();
    const std::string prefix = "inline.yaml:" + std::to_string(line) + ":";
    EXPECT_EQ(std::string(error->what()).rfind(prefix, 0), 0u) << error->what();
    // A ConfigError is a UserError: the CLI maps it to exit code 2.
    EXPECT_NE(dynamic_cast<const UserError*>(&*error), nullptr);
  }
}

TEST(ConfigErrorException, MalformedYamlHasALineButNoField) {
  const std::optional<ConfigError> error =
      config_error_of("scenario:\n  name: x\n   start: 2026-01\n");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->line(), 3) << error->what();
  EXPECT_EQ(error->field(), "");
  EXPECT_TRUE(contains(error->what(), "malformed YAML")) << error->what();
}

}  // namespace
}  // namespace caprisk

namespace caprisk {
namespace {

/// scripts/fuzz runs this (CAPRISK_FUZZ_SEED_DIR=folder) to seed fuzz_config's corpus with
/// every malformed config above and the valid base they are edited from.
TEST(FuzzSeeds, WriteTheErrorCasesWhenAsked) {
  const char* folder = std::getenv("CAPRISK_FUZZ_SEED_DIR");
  if (folder == nullptr) GTEST_SKIP() << "set CAPRISK_FUZZ_SEED_DIR to write the seeds";
  std::filesystem::create_directories(folder);
  auto write = [folder](const std::string& name, const std::string& bytes) {
    std::ofstream(std::string(folder) + "/" + name + ".yaml", std::ios::binary) << bytes;
  };
  write("base", base_yaml);
  for (const ErrorCase& c : config_error_cases()) {
    std::string yaml;
    if (apply_edits(c.base, c.edits, yaml)) write(c.name, yaml);
  }
  for (const FileCase& c : file_cases())
    if (c.kind == FileKind::bytes && c.bytes.size() < (1 << 16)) write(c.name, c.bytes);
}

}  // namespace
}  // namespace caprisk
