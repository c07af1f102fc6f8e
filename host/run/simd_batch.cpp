// Compiled once per Highway target: hwy/foreach_target.h includes this file again for each,
// with HWY_NAMESPACE naming the target and its instructions enabled between
// HWY_BEFORE_NAMESPACE and HWY_AFTER_NAMESPACE. Highway is the vector layer because it
// compiles one portable binary for every x86 level and dispatches at run time (an AVX-512 VM
// and a CI runner without it run the same build), and because a test can force a narrower
// target in-process (hwy::SetSupportedTargetsForTest). The model's lane type itself is a GCC
// vector (kernels/lanes-inl.h), so that nvcc compiles the same source with one lane; its
// operations and the lane-generic months are included here again inside each target's
// namespace, so that g++ compiles them with that target's instructions.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/run/simd_batch.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "host/run/simd_batch.h"

HWY_BEFORE_NAMESPACE();
namespace caprisk {
namespace HWY_NAMESPACE {

#include "kernels/lanes-inl.h"        // NOLINT(build/include)
#include "kernels/model_lanes-inl.h"  // NOLINT(build/include)

/// One vector of doubles per pack: 8 lanes on AVX-512, 4 on AVX2, 2 on SSE4 and EMU128.
constexpr int batch_lanes = static_cast<int>(HWY_LANES(double));
static_assert(batch_lanes <= max_batch_lanes, "a target wider than max_batch_lanes");

int BatchLanes() { return batch_lanes; }

// flatten: the whole model is inlined here, so every pack loop is compiled for this target.
HWY_FLATTEN void SimulateBatch(const ScenarioView& s, std::uint64_t seed, std::uint64_t first,
                               const PathStatics* draws, const PathOutput& out) {
  Pack<std::uint64_t, batch_lanes> path;
  for (int l = 0; l < batch_lanes; ++l) path.v[l] = first + static_cast<std::uint64_t>(l);
  (simulate_lanes<batch_lanes>)(s, seed, path, draws, out, nullptr);  // () : no ADL into caprisk
}

}  // namespace HWY_NAMESPACE
}  // namespace caprisk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

namespace caprisk {

HWY_EXPORT(BatchLanes);
HWY_EXPORT(SimulateBatch);

namespace {

/// What this CPU supports, read before any mock: targets this binary was compiled for.
std::int64_t real_targets() {
  static const std::int64_t targets = hwy::SupportedTargets() & HWY_TARGETS;
  return targets;
}

/// CAPRISK_SIMD, read once (std::call_once: the first caller may be any thread); a name this
/// CPU cannot honour is kept and thrown to every caller, never forgotten after the first.
std::once_flag environment_once;
std::string environment_error;
bool environment_overridden = false;  // select_simd_target ran before the environment was read

std::string lowered(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

void choose_target(const std::string& name);

void read_environment() {
  std::call_once(environment_once, [] {
    const char* name = std::getenv("CAPRISK_SIMD");
    if (environment_overridden || name == nullptr || *name == '\0') return;
    try {
      choose_target(name);
    } catch (const std::invalid_argument& e) {
      environment_error = e.what();
    }
  });
  if (!environment_error.empty()) throw std::invalid_argument(environment_error);
}

}  // namespace

std::vector<std::string> available_simd_targets() {
  std::vector<std::string> names;
  for (std::int64_t left = real_targets(); left != 0; left &= left - 1)
    names.emplace_back(hwy::TargetName(left & -left));
  return names;
}

void select_simd_target(const std::string& name) {
  // An explicit choice wins over CAPRISK_SIMD (which is then not read); a bad CAPRISK_SIMD
  // read before is still thrown.
  environment_overridden = true;
  read_environment();
  choose_target(name);
}

namespace {

void choose_target(const std::string& name) {
  const std::string named = lowered(name);
  const std::string wanted = named == "avx512" ? "avx3" : named;
  real_targets();  // read the CPU's targets before any mock replaces them
  if (wanted == "best") {
    hwy::SetSupportedTargetsForTest(0);
    return;
  }
  for (std::int64_t left = real_targets(); left != 0; left &= left - 1) {
    const std::int64_t target = left & -left;
    if (lowered(hwy::TargetName(target)) == wanted) {
      hwy::SetSupportedTargetsForTest(target);
      return;
    }
  }
  std::string known;
  for (const std::string& target : available_simd_targets())
    known += (known.empty() ? "" : ", ") + lowered(target);
  throw std::invalid_argument("SIMD target '" + name + "' is not available on this CPU (" +
                              "available: " + known + ", best)");
}

}  // namespace

SimdTarget simd_target() {
  read_environment();
  const int lanes = HWY_DYNAMIC_DISPATCH(BatchLanes)();
  const std::int64_t chosen = hwy::SupportedTargets() & HWY_TARGETS;
  return SimdTarget{hwy::TargetName(chosen & -chosen), lanes};
}

void simulate_batch(const ScenarioView& s, std::uint64_t seed, std::uint64_t first,
                    const PathStatics* draws, const PathOutput& out) {
  HWY_DYNAMIC_DISPATCH(SimulateBatch)(s, seed, first, draws, out);
}

}  // namespace caprisk
#endif  // HWY_ONCE
