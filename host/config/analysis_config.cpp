#include "host/config/analysis_config.h"

#include <algorithm>
#include <set>

namespace caprisk {

std::vector<SiteGroup> read_groups(const Reader& r, const YAML::Node& node,
                                   const std::vector<Site>& sites) {
  const std::string f = "groups";
  r.expect_map(node, f);
  if (node.size() > static_cast<std::size_t>(ModelLimits::max_groups))
    r.fail(node, f, "has " + std::to_string(node.size()) + " groups; at most " +
                        std::to_string(ModelLimits::max_groups));
  std::vector<std::string> site_names;
  for (const Site& site : sites) site_names.push_back(site.name);
  std::vector<SiteGroup> groups;
  for (const auto& entry : node) {
    SiteGroup group;
    group.name = r.name(entry.first, f);
    const std::string gf = Reader::join(f, group.name);
    if (group.name == "ALL") r.fail(entry.first, gf, "'ALL' is reserved for the whole program");
    if (std::find(site_names.begin(), site_names.end(), group.name) != site_names.end())
      r.fail(entry.first, gf, "a site is named '" + group.name + "': a group needs its own name");
    for (const SiteGroup& other : groups)
      if (other.name == group.name) r.fail(entry.first, gf, "duplicate group name");
    const YAML::Node& members = entry.second;
    r.expect_list(members, gf);
    if (members.size() == 0) r.fail(members, gf, "must list at least one site");
    for (std::size_t i = 0; i < members.size(); ++i) {
      const std::string mf = Reader::index(gf, i);
      const std::string site = r.text(members[i], mf);
      const auto it = std::find(site_names.begin(), site_names.end(), site);
      if (it == site_names.end())
        r.fail(members[i], mf, "unknown site '" + site + "'" + did_you_mean(site, site_names));
      const int index = static_cast<int>(it - site_names.begin());
      if (std::find(group.sites.begin(), group.sites.end(), index) != group.sites.end())
        r.fail(members[i], mf, "site '" + site + "' is listed twice");
      group.sites.push_back(index);
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

std::string stress_name_problem(const std::string& name) {
  if (name.size() > 64) return "is longer than 64 characters";
  if (name.front() == '.' || name.front() == '-') return "may not start with '.' or '-'";
  for (const char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return "may hold only letters, digits, '_', '-' and '.' (it names a folder)";
  return "";
}

namespace {

/// One `set:` or `shift:` mapping of a stress, PATH: VALUE, each edit named by its location.
void read_edits(const Reader& r, const YAML::Node& map, const std::string& field,
                Override::Kind kind, std::vector<Override>& edits) {
  r.expect_map(map, field);
  std::set<std::string> seen;
  for (const auto& entry : map) {
    const std::string path = r.text(entry.first, field);
    const std::string ef = Reader::join(field, path);
    if (!seen.insert(path).second) r.fail(entry.first, ef, "duplicate path");
    Override edit;
    edit.kind = kind;
    edit.path = path;
    if (kind == Override::Kind::shift) {
      r.number(entry.second, ef, Range{-1200, 1200});
      edit.value = entry.second.Scalar();
    } else {
      if (!entry.second.IsDefined() || entry.second.IsNull())
        r.fail(entry.first, ef, "no value given");
      edit.value = YAML::Dump(entry.second);
    }
    const YAML::Mark mark = entry.first.Mark();
    edit.origin = r.file() + ":" + std::to_string(mark.line + 1) + ":" +
                  std::to_string(mark.column + 1) + ": " + ef;
    edits.push_back(std::move(edit));
  }
}

}  // namespace

std::vector<Stress> read_stresses(const Reader& r, const YAML::Node& list) {
  const std::string f = "stresses";
  r.expect_list(list, f);
  if (list.size() > max_stresses)
    r.fail(list, f, "has " + std::to_string(list.size()) + " stresses; at most " +
                        std::to_string(max_stresses));
  std::vector<Stress> stresses;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string sf = Reader::index(f, i);
    const YAML::Node& n = list[i];
    r.expect_map(n, sf);
    r.check_keys(n, sf, {"name", "description", "set", "shift"});
    Stress stress;
    const YAML::Node name = r.require(n, sf, "name");
    stress.name = r.name(name, sf + ".name");
    if (const std::string problem = stress_name_problem(stress.name); !problem.empty())
      r.fail(name, sf + ".name", "the stress name '" + stress.name + "' " + problem);
    for (const Stress& other : stresses)
      if (other.name == stress.name)
        r.fail(name, sf + ".name", "duplicate stress name '" + stress.name + "'");
    if (n["description"]) stress.description = r.text(n["description"], sf + ".description");
    if (n["set"]) read_edits(r, n["set"], sf + ".set", Override::Kind::set, stress.edits);
    if (n["shift"]) read_edits(r, n["shift"], sf + ".shift", Override::Kind::shift, stress.edits);
    if (stress.edits.empty()) r.fail(n, sf, "a stress needs at least one edit in 'set' or 'shift'");
    stresses.push_back(std::move(stress));
  }
  return stresses;
}

}  // namespace caprisk
