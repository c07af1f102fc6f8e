// Piecewise-linear schedules (docs/MODEL.md, "Units and time").
#pragma once

#include "kernels/qualifiers.h"

namespace caprisk {

/// One (month, value) point; `month` is the index relative to the scenario start.
struct SchedulePoint {
  double month;
  double value;
  /// (next value - value) / (next month - month), 0 for the last point and for a step (two
  /// points at one month): set by set_slopes when the scenario is flattened, so that the
  /// per-path schedules (schedule_lanes) divide nothing.
  double slope = 0.0;
};

/// Fills every point's slope to the next one (FlatScenario does this for its pool).
inline void set_slopes(SchedulePoint* points, int count) {
  for (int i = 0; i < count; ++i)
    points[i].slope = i + 1 < count && points[i + 1].month > points[i].month
                          ? (points[i + 1].value - points[i].value) /
                                (points[i + 1].month - points[i].month)
                          : 0.0;
}

/// A schedule stored as `count` points starting at `first` in a shared pool of points.
struct ScheduleRef {
  int first = 0;
  int count = 0;
};

/// Value at (possibly fractional) month t: linear between points, flat outside them.
CAPRISK_HD inline double schedule_value(const SchedulePoint* points, int count, double t) {
  if (t <= points[0].month) return points[0].value;
  if (t >= points[count - 1].month) return points[count - 1].value;
  int i = 1;
  while (points[i].month < t) ++i;  // schedules are short: a linear scan beats bisection
  const SchedulePoint a = points[i - 1], b = points[i];
  return a.value + (b.value - a.value) * ((t - a.month) / (b.month - a.month));
}

CAPRISK_HD inline double schedule_value(const SchedulePoint* pool, ScheduleRef ref, double t) {
  return schedule_value(pool + ref.first, ref.count, t);
}

/// The value at t of a schedule whose slopes are set (set_slopes): as schedule_value, but
/// value + slope (t - month) between points, a multiply where schedule_value divides. The
/// per-path schedules (power at t - delay, wafers at t - ramp delay) use this form on every
/// backend; tables made once per scenario use schedule_value.
CAPRISK_HD inline double schedule_at(const SchedulePoint* points, int count, double t) {
  if (t <= points[0].month) return points[0].value;
  if (t >= points[count - 1].month) return points[count - 1].value;
  int i = 1;
  while (points[i].month < t) ++i;
  const SchedulePoint a = points[i - 1];
  return a.value + a.slope * (t - a.month);
}

}  // namespace caprisk
