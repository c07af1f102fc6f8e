// Piecewise-linear schedules (docs/MODEL.md, "Units and time").
#pragma once

#include "kernels/qualifiers.h"

namespace caprisk {

/// One (month, value) point; `month` is the index relative to the scenario start.
struct SchedulePoint {
  double month;
  double value;
};

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

}  // namespace caprisk
