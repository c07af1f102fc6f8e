#include "host/config/overrides.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "host/config/yaml_reader.h"
#include "host/errors.h"

namespace caprisk {
namespace {

/// The most months a --shift may move a schedule (a century).
constexpr double max_shift_months = 1200;

/// One step of a path: a key and the list selectors after it (`sites[Abilene TX]`,
/// `correlation.matrix[0][1]`).
struct Step {
  std::string key;
  std::vector<std::string> selectors;
};

std::vector<Step> split_path(const Override& o) {
  std::vector<Step> steps;
  Step step;
  bool in_key = true;
  for (std::size_t i = 0; i < o.path.size(); ++i) {
    const char c = o.path[i];
    if (c == '[') {
      const std::size_t close = o.path.find(']', i);
      if (close == std::string::npos || close == i + 1)
        throw UserError(o.origin + ": the path has an unclosed or empty [ ] at character " +
                        std::to_string(i + 1));
      step.selectors.push_back(o.path.substr(i + 1, close - i - 1));
      i = close;
      in_key = false;
    } else if (c == '.') {
      if (step.key.empty()) throw UserError(o.origin + ": the path has an empty key");
      steps.push_back(step);
      step = Step{};
      in_key = true;
    } else {
      if (!in_key) throw UserError(o.origin + ": the path has text after a ']'; use '.' between keys");
      step.key += c;
    }
  }
  if (step.key.empty()) throw UserError(o.origin + ": the path is empty or ends with '.'");
  steps.push_back(step);
  return steps;
}

std::string listing(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text.empty() ? "(none)" : text;
}

bool whole_number(const std::string& text, std::size_t& value) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

/// The index a selector picks in a list of `count` items named `names` (empty for unnamed
/// items); UserError naming the override otherwise.
std::size_t pick(const Override& o, const std::string& list, const std::string& selector,
                 const std::vector<std::string>& names, std::size_t count) {
  std::size_t index = 0;
  if (whole_number(selector, index)) {
    if (index >= count)
      throw UserError(o.origin + ": " + list + " has " + std::to_string(count) +
                      (count == 1 ? " item, numbered" : " items, numbered") +
                      " from 0; there is no [" + selector + "]");
    return index;
  }
  const auto it = std::find(names.begin(), names.end(), selector);
  if (it == names.end())
    throw UserError(o.origin + ": " + list + " has no item named '" + selector + "'" +
                    did_you_mean(selector, names) + "; its names: " + listing(names));
  return static_cast<std::size_t>(it - names.begin());
}

std::vector<std::string> names_in(const YAML::Node& list) {
  std::vector<std::string> names;
  for (const auto& item : list)
    names.push_back(item.IsMap() && item["name"] && item["name"].IsScalar()
                        ? item["name"].Scalar()
                        : std::string());
  return names;
}

std::vector<std::string> keys_of(const YAML::Node& map) {
  std::vector<std::string> keys;
  for (const auto& entry : map)
    if (entry.first.IsScalar()) keys.push_back(entry.first.Scalar());
  return keys;
}

YAML::Node parse_value(const Override& o) {
  try {
    return YAML::Load(o.value);
  } catch (const YAML::Exception& e) {
    throw UserError(o.origin + ": the value is not valid YAML (" + e.msg + ")");
  }
}

/// Puts the set's value at its path in `root`; returns the canonical path.
std::string apply_set(YAML::Node root, const Override& o) {
  const std::vector<Step> steps = split_path(o);
  const YAML::Node value = parse_value(o);
  YAML::Node node;
  node.reset(root);
  std::string canonical;
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const Step& step = steps[s];
    const bool last = s + 1 == steps.size();
    if (!node.IsMap())
      throw UserError(o.origin + ": " + (canonical.empty() ? "the config" : canonical) +
                      " is not a mapping, so it has no key '" + step.key + "'");
    const std::string here = Reader::join(canonical, step.key);
    if (!node[step.key]) {
      // A key the config left out: added when it is the last (the reader then checks that it
      // is a key at all, with a suggestion); a list cannot be picked from where there is
      // none, nor a key from a mapping that is not there.
      if (!step.selectors.empty() || !last)
        throw UserError(o.origin + ": there is no " + here + did_you_mean(step.key, keys_of(node)));
      node[step.key] = last ? value : YAML::Node(YAML::NodeType::Map);
    } else if (last && step.selectors.empty()) {
      node[step.key] = value;
    }
    canonical = here;
    YAML::Node next = node[step.key];
    for (std::size_t k = 0; k < step.selectors.size(); ++k) {
      if (!next.IsSequence())
        throw UserError(o.origin + ": " + canonical + " is not a list, so it has no [" +
                        step.selectors[k] + "]");
      const std::size_t index =
          pick(o, canonical, step.selectors[k], names_in(next), next.size());
      canonical = Reader::index(canonical, index);
      if (last && k + 1 == step.selectors.size()) {
        next[index] = value;
        return canonical;
      }
      next.reset(next[index]);  // reseats the handle (operator= would overwrite the node)
    }
    node.reset(next);
  }
  return canonical;
}

/// The schedule a shift's path names, resolved by index or name; UserError otherwise.
Schedule& schedule_at(Scenario& s, const Override& o) {
  const std::vector<Step> steps = split_path(o);
  auto sole = [&](const Step& step) {
    if (step.selectors.size() != 1)
      throw UserError(o.origin + ": '" + step.key + "' needs one [index or name]");
    return step.selectors[0];
  };
  auto named = [](const auto& items) {
    std::vector<std::string> names;
    for (const auto& item : items) names.push_back(item.name);
    return names;
  };
  const std::string moves =
      ": not a schedule; --shift moves the points of supply.packaging_cap_gw, "
      "supply.suppliers[..].wafers_per_month, funding.deals[..].tranches, sites[..].target_gw "
      "and sites[..].power.schedule";
  std::vector<std::string> keys;
  for (const Step& step : steps) keys.push_back(step.key);
  if (keys == std::vector<std::string>{"supply", "packaging_cap_gw"} && steps[1].selectors.empty()) {
    if (s.supply.packaging_cap_gw.empty())
      throw UserError(o.origin + ": the config has no supply.packaging_cap_gw to shift");
    return s.supply.packaging_cap_gw;
  }
  if (keys == std::vector<std::string>{"supply", "suppliers", "wafers_per_month"})
    return s.supply.suppliers[pick(o, "supply.suppliers", sole(steps[1]),
                                   named(s.supply.suppliers), s.supply.suppliers.size())]
        .wafers_per_month;
  if (keys == std::vector<std::string>{"funding", "deals", "tranches"}) {
    Deal& deal = s.funding.deals[pick(o, "funding.deals", sole(steps[1]), named(s.funding.deals),
                                      s.funding.deals.size())];
    if (deal.kind != DealKind::schedule)
      throw UserError(o.origin + ": deal '" + deal.name +
                      "' is a per_gw deal, without tranches; move its start with --set "
                      "funding.deals[" + deal.name + "].start=YYYY-MM, or its delay_months");
    return deal.tranches;
  }
  if (keys.size() >= 2 && keys[0] == "sites") {
    Site& site = s.sites[pick(o, "sites", sole(steps[0]), named(s.sites), s.sites.size())];
    if (keys == std::vector<std::string>{"sites", "target_gw"}) return site.target_gw;
    if (keys == std::vector<std::string>{"sites", "power", "schedule"}) return site.power_schedule;
  }
  throw UserError(o.origin + moves);
}

}  // namespace

Override parse_override(Override::Kind kind, const std::string& argument) {
  Override o;
  o.kind = kind;
  const std::string option = kind == Override::Kind::set ? "--set" : "--shift";
  o.origin = option + " " + argument;
  if (argument.size() > max_override_bytes)
    throw UserError(option + ": an override is at most " + std::to_string(max_override_bytes) +
                    " bytes, this one is " + std::to_string(argument.size()) +
                    "; put a value that large in the config file");
  const std::size_t equals = argument.find('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 == argument.size())
    throw UserError(option + " expects PATH=" +
                    (kind == Override::Kind::set ? "VALUE" : "MONTHS") +
                    " (e.g. " +
                    (kind == Override::Kind::set
                         ? "supply.suppliers[SK hynix].ramp_delay_months=6"
                         : "funding.deals[Oracle].tranches=12") +
                    "), got '" + argument + "'");
  o.path = argument.substr(0, equals);
  o.value = argument.substr(equals + 1);
  return o;
}

YAML::Node apply_sets(YAML::Node edited, const std::vector<Override>& overrides,
                      std::vector<std::string>& canonical) {
  canonical.clear();
  for (const Override& o : overrides)
    canonical.push_back(o.kind == Override::Kind::set ? apply_set(edited, o) : std::string());
  return edited;
}

void apply_shifts(Scenario& scenario, const std::vector<Override>& overrides) {
  for (const Override& o : overrides) {
    if (o.kind != Override::Kind::shift) continue;
    double months = 0;
    const auto [ptr, ec] = std::from_chars(o.value.data(), o.value.data() + o.value.size(), months);
    if (ec != std::errc() || ptr != o.value.data() + o.value.size() || !std::isfinite(months) ||
        std::fabs(months) > max_shift_months)
      throw UserError(o.origin + ": expected a number of months in [-1200, 1200] (whole or "
                      "fractional), got '" + o.value + "'");
    for (SchedulePoint& point : schedule_at(scenario, o)) point.month += months;
  }
}

std::string overrides_text(const std::vector<Override>& overrides) {
  std::string text;
  for (const Override& o : overrides)
    text += (o.kind == Override::Kind::set ? "--set " : "--shift ") + o.path + "=" + o.value + "\n";
  return text;
}

}  // namespace caprisk
