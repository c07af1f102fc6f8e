// Piecewise-linear schedules (docs/MODEL.md, "Units and time").
#pragma once

#include "kernels/lanes.h"
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

/// schedule_value on every lane. With vectors each segment is one masked step: lane l takes
/// segment i where month[i - 1] < t <= month[i], the one the scan stops at, by the same
/// operations (t is never NaN here: delays are finite).
template <int W>
CAPRISK_HD inline Real<W> schedule_lanes(const SchedulePoint* pool, ScheduleRef ref,
                                         const Real<W>& t) {
  const SchedulePoint* points = pool + ref.first;
  Real<W> r;
  if constexpr (vector_pack<W>) {
    r = splat<W>(points[0].value);
    for (int i = 1; i < ref.count; ++i) {
      const SchedulePoint a = points[i - 1], b = points[i];
      const Mask<W> inside = (t > a.month) & (t <= b.month);
      if (any(inside))
        r = select(inside, a.value + (b.value - a.value) * ((t - a.month) / (b.month - a.month)),
                   r);
    }
    // The scan's own order: before (or at) the first point, then at or after the last.
    r = select(t <= points[0].month, splat<W>(points[0].value),
               select(t >= points[ref.count - 1].month, splat<W>(points[ref.count - 1].value), r));
  } else {
    for (int l = 0; l < W; ++l) r.v[l] = schedule_value(points, ref.count, t.v[l]);
  }
  return r;
}

}  // namespace caprisk
