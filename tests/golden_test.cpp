// Golden regression: configs/minimal.yaml at its own seed and path count must reproduce the
// tables in tests/golden/minimal/ within per-column tolerances (regenerate deliberately with
// scripts/update-golden after a model change, and say why in the commit).
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace caprisk {
namespace {

using testing::read_text;
using testing::source_path;

std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::string field;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        fields.push_back(field);
        field.clear();
      } else {
        field += c;
      }
    }
    fields.push_back(field);
    rows.push_back(fields);
  }
  return rows;
}

bool is_number(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

/// Text columns (site, month, metric) must match exactly; numbers within an absolute 1e-9
/// plus a relative 1e-6 (different libm builds may differ in the last bits of exp, log,
/// lgamma).
void expect_tables_match(const std::string& name, const std::string& actual_text,
                         const std::string& expected_text) {
  const auto actual = parse_csv(actual_text);
  const auto expected = parse_csv(expected_text);
  ASSERT_EQ(actual.size(), expected.size()) << name << ": row count";
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(actual[0], expected[0]) << name << ": header";
  for (std::size_t r = 1; r < expected.size(); ++r) {
    ASSERT_EQ(actual[r].size(), expected[r].size()) << name << " row " << r;
    for (std::size_t c = 0; c < expected[r].size(); ++c) {
      double a = 0, e = 0;
      const std::string where = name + " row " + std::to_string(r) + " column " + expected[0][c];
      if (is_number(expected[r][c], e)) {
        ASSERT_TRUE(is_number(actual[r][c], a)) << where << ": '" << actual[r][c] << "'";
        EXPECT_NEAR(a, e, 1e-9 + 1e-6 * std::fabs(e)) << where;
      } else {
        EXPECT_EQ(actual[r][c], expected[r][c]) << where;
      }
    }
  }
}

TEST(Golden, MinimalScenarioReproducesItsTables) {
  testing::TempDir dir;
  const auto r = testing::run_caprisk("run " + source_path("configs/minimal.yaml") +
                                      " --quiet --out " + dir.path);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* file : {"percentiles.csv", "attribution.csv"}) {
    const std::string expected =
        read_text(source_path(std::string("tests/golden/minimal/") + file));
    ASSERT_FALSE(expected.empty()) << "missing golden file " << file;
    expect_tables_match(file, read_text(dir.file(file)), expected);
  }
}

}  // namespace
}  // namespace caprisk
