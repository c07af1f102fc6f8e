// Flattens a validated Scenario into the plain arrays the kernels read.
#pragma once

#include <vector>

#include "host/config/scenario.h"
#include "host/reduce/reduction_spec.h"
#include "kernels/scenario_view.h"

namespace caprisk {

/// Owns the arrays behind a ScenarioView; the view stays valid while this object lives and is
/// not moved from.
class FlatScenario {
 public:
  explicit FlatScenario(const Scenario& scenario);
  FlatScenario(const FlatScenario&) = delete;
  FlatScenario& operator=(const FlatScenario&) = delete;

  const ScenarioView& view() const { return view_; }
  PathLayout layout() const {
    return PathLayout{view_.site_count, view_.report_count, view_.group_count};
  }
  /// What the reducers need: the layout, the percentiles and every cell's upper bound.
  const ReductionSpec& reduction_spec() const { return spec_; }

  // The arrays, for backends that copy them elsewhere (device memory).
  const std::vector<SchedulePoint>& points() const { return points_; }
  const std::vector<SupplierParams>& suppliers() const { return suppliers_; }
  const std::vector<DealParams>& deals() const { return deals_; }
  const std::vector<SiteParams>& sites() const { return sites_; }
  const std::vector<int>& funding() const { return funding_; }
  const std::vector<int>& site_order() const { return site_order_; }
  const std::vector<int>& report_months() const { return report_months_; }
  const std::vector<double>& target_by_month() const { return target_by_month_; }
  const std::vector<double>& packaging_cap_by_month() const { return packaging_cap_by_month_; }
  const std::vector<int>& group_first() const { return group_first_; }
  const std::vector<int>& group_sites() const { return group_sites_; }

 private:
  ScheduleRef add_schedule(const Schedule& schedule);
  ProgramParams add_program(const Scenario& scenario);
  void add_suppliers(const Supply& supply);
  void add_deals(const Funding& funding);
  void add_sites(const std::vector<Site>& sites);
  void tabulate(int months, const ProgramParams& program);

  std::vector<SchedulePoint> points_;
  std::vector<SupplierParams> suppliers_;
  std::vector<DealParams> deals_;
  std::vector<SiteParams> sites_;
  std::vector<int> funding_;
  std::vector<int> site_order_;
  std::vector<int> report_months_;
  std::vector<double> target_by_month_;
  std::vector<double> packaging_cap_by_month_;
  std::vector<int> group_first_;
  std::vector<int> group_sites_;
  ScenarioView view_{};
  ReductionSpec spec_;
};

}  // namespace caprisk
