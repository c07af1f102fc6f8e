#include "host/config/yaml_reader.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <numeric>
#include <set>
#include <sstream>

namespace caprisk {

using namespace config_limits;

/// Why `text` is not a good name (valid UTF-8, printable, short), or "" when it is one.
std::string name_problem(const std::string& text) {
  if (text.size() > max_name_bytes)
    return "is " + std::to_string(text.size()) + " bytes long; names are at most " +
           std::to_string(max_name_bytes);
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const std::string at = " (byte " + std::to_string(i) + ")";
    std::size_t length = 1;
    std::uint32_t code = byte;
    if (byte >= 0xc2 && byte <= 0xdf) {
      length = 2;
      code = byte & 0x1fu;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      length = 3;
      code = byte & 0x0fu;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      length = 4;
      code = byte & 0x07u;
    } else if (byte >= 0x80) {
      return "is not valid UTF-8" + at;
    }
    if (i + length > text.size()) return "is not valid UTF-8" + at;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return "is not valid UTF-8" + at;
      code = (code << 6) | (next & 0x3fu);
    }
    const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
    if (overlong || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
      return "is not valid UTF-8" + at;
    if (code < 0x20 || code == 0x7f || (code >= 0x80 && code < 0xa0))
      return "contains a control character" + at;
    if ((code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069))
      return "contains a bidirectional-text control character" + at;
    i += length;
  }
  return "";
}

std::string did_you_mean(const std::string& wrong, const std::vector<std::string>& names) {
  std::string best;
  std::size_t best_distance = 3;
  for (const std::string& name : names)
    if (const std::size_t d = edit_distance(wrong, name); d < best_distance) {
      best_distance = d;
      best = name;
    }
  if (best.empty() && !wrong.empty()) {  // else the one name that starts with it: 'Abilene'
    for (const std::string& name : names)
      if (name.compare(0, wrong.size(), wrong) == 0) {
        if (!best.empty()) return "";
        best = name;
      }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t next =
          std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.size()];
}


/// A scalar as it may appear in a message: short, printable.
std::string Reader::quote(const std::string& text) {
  std::string out;
  for (unsigned char c : text.substr(0, 40)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return "'" + out + (text.size() > 40 ? "...'" : "'");
}

std::string Reader::kind_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing (an empty value)";
    case YAML::NodeType::Scalar:
      return quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "an undefined value";
  }
}

/// Rejects keys not in `allowed` (with a suggestion) and duplicated keys.
void Reader::check_keys(const YAML::Node& map, const std::string& field,
                const std::vector<std::string>& allowed) const {
  std::set<std::string> seen;
  for (const auto& entry : map) {
    const YAML::Node& key_node = entry.first;
    if (!key_node.IsScalar()) fail(key_node, field, "keys must be plain names");
    const std::string key = key_node.Scalar();
    const std::string path = join(field, key);
    if (!seen.insert(key).second) fail(key_node, path, "duplicate key");
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) {
      // yaml-cpp places an empty value where the next token starts: point at the key.
      if (entry.second.IsNull()) fail(key_node, path, "no value given after '" + key + ":'");
      continue;
    }
    const std::string message = "unknown key '" + key + "'" + did_you_mean(key, allowed);
    std::string listing;
    for (const auto& candidate : allowed) listing += (listing.empty() ? "" : ", ") + candidate;
    fail(key_node, path, message + "; allowed keys: " + listing);
  }
}

double Reader::number(const YAML::Node& node, const std::string& field, const Range& range) const {
  const std::string expected = "expected a number" + with_space(range.describe());
  if (!node.IsScalar()) fail(node, field, expected + ", got " + kind_name(node));
  const std::string& text = node.Scalar();
  std::string lower = text;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == ".nan" || lower == ".inf" || lower == "-.inf" || lower == "+.inf" ||
      lower == "nan" || lower == "inf" || lower == "-inf" || lower == "infinity")
    fail(node, field, "expected a finite number, got '" + text + "'");
  double value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (begin != end && *begin == '+') ++begin;
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || text.empty())
    fail(node, field, expected + ", got " + kind_name(node));
  if (!std::isfinite(value)) fail(node, field, "expected a finite number, got '" + text + "'");
  if (!range.contains(value)) fail(node, field, "must be " + range.describe() + ", got " + text);
  return value;
}

long long Reader::integer(const YAML::Node& node, const std::string& field, long long min,
                  long long max) const {
  const std::string expected =
      "expected a whole number in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (!node.IsScalar()) fail(node, field, expected + ", got " + kind_name(node));
  const std::string& text = node.Scalar();
  const char* begin = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
  long long value = 0;
  const auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range)
    fail(node, field, expected + ", got " + text + " (out of range)");
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    // Accept "1e6" or "1000000.0" when it is a whole number: users write paths that way.
    double real = 0;
    const auto [rptr, rec] = std::from_chars(begin, text.data() + text.size(), real);
    if (rec != std::errc() || rptr != text.data() + text.size() || real != std::floor(real) ||
        std::fabs(real) > 9e18)
      fail(node, field, expected + ", got " + kind_name(node));
    value = static_cast<long long>(real);
  }
  if (value < min || value > max) fail(node, field, expected + ", got " + text);
  return value;
}

/// A seed: any whole number in [0, 2^64 - 1].
std::uint64_t Reader::seed(const YAML::Node& node, const std::string& field) const {
  std::uint64_t value = 0;
  const std::string text = node.IsScalar() ? node.Scalar() : "";
  const char* begin = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
  const auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), value);
  if (!node.IsScalar() || ec != std::errc() || ptr != text.data() + text.size() || text.empty())
    fail(node, field,
         "expected a whole number in [0, 18446744073709551615], got " + kind_name(node));
  return value;
}

/// [[YYYY-MM, value], ...] with strictly increasing months.
Schedule Reader::schedule(const YAML::Node& node, const std::string& field, YearMonth start,
                  const Range& range) const {
  const std::string shape = "expected a schedule: a list of [YYYY-MM, value] pairs";
  if (!node.IsSequence() || node.size() == 0)
    fail(node, field, shape + ", got " + kind_name(node));
  if (node.size() > max_schedule_points)
    fail(node, field,
         "has " + std::to_string(node.size()) + " points; a schedule has at most " +
             std::to_string(max_schedule_points));
  Schedule points;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node& pair = node[i];
    const std::string path = index(field, i);
    if (!pair.IsSequence() || pair.size() != 2)
      fail(pair, path, shape + "; this entry is " + kind_name(pair));
    const int m = month_index(pair[0], path + "[0]", start);
    const double value = number(pair[1], path + "[1]", range);
    if (!points.empty() && m <= points.back().month)
      fail(pair[0], path + "[0]",
           "schedule months must be strictly increasing: " + pair[0].Scalar() +
               " does not come after the previous point");
    points.push_back({static_cast<double>(m), value});
  }
  return points;
}

namespace {

/// Deepest nesting of mappings and lists a config may use (the shipped ones use 6).
constexpr int max_nesting = 64;

/// Refuses text nested deeper than max_nesting before the YAML parser recurses into it. The
/// depth counted is an upper bound: the enclosing blocks (by indentation), the "- " items
/// opened on the line, and the open [ and { of flow collections.
void check_nesting(const std::string& text, const std::string& file) {
  std::vector<std::size_t> indents;  // of the enclosing block lines
  int flow = 0;
  bool in_double = false, in_single = false;
  int line = 1;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string_view row(text.data() + begin, end - begin);
    std::size_t indent = row.find_first_not_of(' ');
    const bool blank = indent == std::string_view::npos || row[indent] == '#' ||
                       row[indent] == '\r';
    int depth = flow;
    if (!blank && flow == 0 && !in_double && !in_single) {
      while (!indents.empty() && indents.back() >= indent) indents.pop_back();
      indents.push_back(indent);
      depth = static_cast<int>(indents.size());
      while (indent + 1 < row.size() && row[indent] == '-' && row[indent + 1] == ' ') {
        ++depth;
        indent = row.find_first_not_of(' ', indent + 1);
        if (indent == std::string_view::npos) break;
      }
    } else {
      depth += static_cast<int>(indents.size());
    }
    for (std::size_t i = 0; i < row.size(); ++i) {
      const char c = row[i];
      if (in_double) {
        if (c == '\\') ++i;
        else if (c == '"') in_double = false;
      } else if (in_single) {
        if (c == '\'') in_single = false;
      } else if (c == '"') {
        in_double = true;
      } else if (c == '\'') {
        in_single = true;
      } else if (c == '#' && (i == 0 || row[i - 1] == ' ')) {
        break;
      } else if (c == '[' || c == '{') {
        ++flow;
        ++depth;
      } else if ((c == ']' || c == '}') && flow > 0) {
        --flow;
        --depth;
      }
      if (depth > max_nesting)
        throw ConfigError(file, line, static_cast<int>(i) + 1, "",
                          "nested deeper than " + std::to_string(max_nesting) +
                              " levels of mappings and lists; a scenario needs far fewer");
    }
    if (depth > max_nesting)
      throw ConfigError(file, line, 1, "",
                        "nested deeper than " + std::to_string(max_nesting) +
                            " levels of mappings and lists; a scenario needs far fewer");
    begin = end + 1;
    ++line;
  }
}

/// The 1-based line of the second document's start marker ("---"), or 0.
int second_document_line(const std::string& text) {
  int line = 1;
  bool content = false;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string_view row(text.data() + begin, end - begin);
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    const bool marker = row.substr(0, 3) == "---" && (row.size() == 3 || row[3] == ' ');
    if (marker && content) return line;
    const std::size_t first = row.find_first_not_of(' ');
    if (!marker && first != std::string_view::npos && row[first] != '#' && row[0] != '%')
      content = true;
    if (row.substr(0, 3) == "..." && content) return line;
    begin = end + 1;
    ++line;
  }
  return 0;
}

/// Discards every parse event: only how many documents there are is wanted.
struct IgnoreEvents : YAML::EventHandler {
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

/// True when the text holds a second YAML document. Asks the parser for at most two
/// documents: yaml-cpp 0.7's LoadAll never ends on some inputs (", %?1e", found by fuzzing),
/// its parser reporting one more document forever.
bool has_several_documents(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  IgnoreEvents ignore;
  return parser.HandleNextDocument(ignore) && parser.HandleNextDocument(ignore);
}

[[noreturn]] void malformed(const std::string& text, const std::string& file,
                            const YAML::Exception& e) {
  const int line = e.mark.is_null() ? 0 : e.mark.line + 1;
  const int column = e.mark.is_null() ? 0 : e.mark.column + 1;
  std::string hint;
  if (text.find('\t') != std::string::npos)
    hint = " (the file contains tab characters: YAML indents with spaces only)";
  throw ConfigError(file, line, column, "", "malformed YAML: " + e.msg + hint);
}

}  // namespace

YAML::Node parse_yaml_document(const std::string& yaml_text, const std::string& display_name) {
  if (yaml_text.find('\0') != std::string::npos)
    throw ConfigError(display_name, 0, 0, "", "not a YAML text file (it contains NUL bytes)");
  if (yaml_text.find('\r') != std::string::npos && yaml_text.find('\n') == std::string::npos)
    throw ConfigError(display_name, 0, 0, "",
                      "its lines end with CR only (the old Mac line ends), which YAML does not "
                      "read as line breaks; save it with LF (or CRLF) line ends");
  check_nesting(yaml_text, display_name);
  try {
    YAML::Node root = YAML::Load(yaml_text);
    if (has_several_documents(yaml_text)) {
      const int line = second_document_line(yaml_text);
      throw ConfigError(display_name, line, line > 0 ? 1 : 0, "",
                        line > 0 ? "a second YAML document starts here; a scenario is one "
                                   "document (remove the '---' line and what follows, or "
                                   "merge it into the first)"
                                 : "the YAML parser reads more than one document in it; a "
                                   "scenario is one document");
    }
    return root;
  } catch (const YAML::Exception& e) {
    malformed(yaml_text, display_name, e);
  }
}

}  // namespace caprisk
