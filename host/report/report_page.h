// report.html: the charts and tables of an output folder drawn by scripts/report.py with
// Debian's matplotlib (docs/REPORT.md). The page is made from the folder's files alone.
#pragma once

#include <string>

namespace caprisk {

/// Whether the page can be drawn here: the script is found and its Python imports matplotlib.
/// Empty when it can; else what is missing and how to get it.
std::string report_unavailable();

/// The page of the output folder `folder` (its CSVs and summary.json); RuntimeFailure with the
/// script's own message when it fails.
std::string draw_report(const std::string& folder);

}  // namespace caprisk
