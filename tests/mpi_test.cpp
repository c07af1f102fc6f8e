// `mpirun -np R caprisk run`: the result files equal the single-process run's for R = 1, 2, 3,
// and a failing rank fails the job with its message and no outputs. Skipped (with the reason)
// in a build without MPI.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.h"

namespace caprisk {
namespace {

using testing::read_text;
using testing::source_path;
using testing::TempDir;

#ifdef CAPRISK_MPIEXEC
testing::CommandResult mpirun(int ranks, const std::string& arguments) {
  // Under AddressSanitizer (.ci/run), leak checking is off for the ranks only: libmpi's
  // plugins allocate at start-up and are unloaded before LeakSanitizer reports, so those
  // reports can be neither read nor suppressed. Every other test keeps leak checking.
  return testing::run_shell("ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 " +
                            std::string(CAPRISK_MPIEXEC) +
                            " --allow-run-as-root --oversubscribe -np " + std::to_string(ranks) +
                            " " + CAPRISK_BINARY + " " + arguments);
}
#endif

TEST(Mpi, RanksGiveTheSameBytesAsOneProcess) {
#ifndef CAPRISK_MPIEXEC
  GTEST_SKIP() << "this build has no MPI (CAPRISK_MPI=OFF or no MPI found)";
#else
  TempDir dir;
  const std::string run =
      "run " + source_path("configs/stargate.yaml") + " --paths 5000 --threads 1 --quiet --out ";
  ASSERT_EQ(testing::run_caprisk(run + dir.file("single")).exit_code, 0);
  for (int ranks : {1, 2, 3}) {
    const std::string out = dir.file("ranks-" + std::to_string(ranks));
    const auto r = mpirun(ranks, run + out);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (const char* name : {"percentiles.csv", "attribution.csv"})
      EXPECT_EQ(read_text(out + "/" + name), read_text(dir.file("single") + "/" + name))
          << name << " with " << ranks << " ranks";
    if (ranks > 1) {  // one rank runs as a single process
      const std::string summary = read_text(out + "/summary.json");
      EXPECT_NE(summary.find("\"mpi_ranks\": " + std::to_string(ranks)), std::string::npos);
      EXPECT_NE(summary.find("\"rank_devices\""), std::string::npos) << summary;
    }
  }
#endif
}

TEST(Mpi, AFailingRankFailsTheJobWithItsMessage) {
#ifndef CAPRISK_MPIEXEC
  GTEST_SKIP() << "this build has no MPI (CAPRISK_MPI=OFF or no MPI found)";
#else
  TempDir dir;
  const auto r =
      mpirun(2, "run " + source_path("configs/minimal.yaml") +
                    " --paths 2000 --quiet --checkpoint x.ckpt --out " + dir.path + "/out");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("caprisk: rank "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("do not combine with MPI ranks"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.path + "/out/percentiles.csv"));
#endif
}

TEST(Mpi, OnlyRankZeroReportsProgressOneLineAPass) {
#ifndef CAPRISK_MPIEXEC
  GTEST_SKIP() << "this build has no MPI (CAPRISK_MPI=OFF or no MPI found)";
#else
  TempDir dir;
  const auto r = mpirun(3, "run " + source_path("configs/minimal.yaml") +
                               " --paths 30000 --threads 1 --out " + dir.path + "/out");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const std::string line : {"caprisk: pass 1 of 2 done on 3 ranks: 30000 paths in ",
                                 "caprisk: pass 2 of 2 done on 3 ranks: 30000 paths in "}) {
    const auto at = r.output.find(line);
    ASSERT_NE(at, std::string::npos) << r.output;
    EXPECT_EQ(r.output.find(line, at + 1), std::string::npos) << "more than one rank printed";
  }
#endif
}

TEST(Mpi, AnErrorEveryRankHitsIsPrintedOnceWithoutAbortNoise) {
#ifndef CAPRISK_MPIEXEC
  GTEST_SKIP() << "this build has no MPI (CAPRISK_MPI=OFF or no MPI found)";
#else
  TempDir dir;
  const auto r = mpirun(3, "run " + source_path("configs/minimal.yaml") +
                               " --paths 2000 --quiet --set scenario.percentiles=[50,200] --out " +
                               dir.path + "/out");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  const std::string message = "must be in [0, 100], got 200";
  const auto first = r.output.find(message);
  ASSERT_NE(first, std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(message, first + 1), std::string::npos) << "printed more than once:\n"
                                                                   << r.output;
  EXPECT_NE(r.output.find("caprisk: rank 0 of 3: error: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(and 2 other rank(s) failed)"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("MPI_ABORT"), std::string::npos) << r.output;
#endif
}

}  // namespace
}  // namespace caprisk
