#!/usr/bin/env bash
# report.html as a reader sees it: drawn by `caprisk run --report` and by `caprisk report DIR`
# for a plain, a stress and a sensitivity run, then rendered by headless Chromium (Debian's
# chromium package): every image must have decoded (the page counts them on load), the page
# must hold its headline, and its screenshot must not be blank. It also checks that the page
# is self-contained (no external URL) and takes seconds.
#
# Usage: report_check.sh CAPRISK SOURCE_DIR
set -euo pipefail
caprisk="$1" root="$2"
python=/usr/bin/python3
if ! "$python" -c 'import matplotlib' 2>/dev/null; then
  echo "SKIPPED: /usr/bin/python3 lacks matplotlib (scripts/setup installs python3-matplotlib)"
  exit 77
fi
if ! command -v chromium >/dev/null; then
  echo "SKIPPED: no chromium (scripts/setup installs it)"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

render() {  # render NAME: checks $work/NAME/report.html in Chromium
  local dir="$work/$1" page="$work/$1/report.html"
  [ -s "$page" ] || fail "$1: no report.html"
  if grep -Eq '(src|href)="https?://' "$page"; then fail "$1: the page reaches outside itself"; fi
  local body total loaded
  body="$(cd "$work" && timeout 120 chromium --headless --no-sandbox --disable-gpu \
            --dump-dom "file://$page" 2>/dev/null | grep -o '<body[^>]*>' || true)"
  total="$(sed -n 's/.*data-images-total="\([0-9]*\)".*/\1/p' <<<"$body")"
  loaded="$(sed -n 's/.*data-images-loaded="\([0-9]*\)".*/\1/p' <<<"$body")"
  [ -n "$total" ] && [ "$total" -gt 0 ] || fail "$1: the page has no images ($body)"
  [ "$loaded" = "$total" ] || fail "$1: $loaded of $total images loaded"
  (cd "$work" && timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
     --window-size=1280,2400 --screenshot="$dir.png" "file://$page" >/dev/null 2>&1) ||
    fail "$1: no screenshot"
  "$python" - "$dir.png" <<'PY' || fail "$1: the screenshot is blank"
import sys
import matplotlib.image as image
pixels = image.imread(sys.argv[1])
# A page of text and charts: many distinct shades, and far from uniform.
assert pixels.std() > 0.05, pixels.std()
assert len({tuple(p) for p in pixels[::7, ::7, :3].reshape(-1, 3).round(2).tolist()}) > 50
PY
  echo "$1: $loaded of $total images loaded, screenshot not blank"
}

minimal="$root/configs/minimal.yaml" stargate="$root/configs/stargate.yaml"
start=$SECONDS
"$caprisk" run "$minimal" --paths 20000 --quiet --report --set scenario.report_months=all \
  --out "$work/plain"
grep -q "Headline: P50 / P95 shortfall" "$work/plain/report.html" || fail "plain: no headline"
grep -q "Tail drivers" "$work/plain/report.html" || fail "plain: no tail drivers"
if grep -q "reported 3 of its" "$work/plain/report.html"; then fail "plain: all months not seen"; fi
render plain
# A stress run, and a report made later from the folder alone.
"$caprisk" stress "$stargate" --paths 4000 --quiet --only hynix_and_oracle_late \
  --only nvidia_loi_lapses --out "$work/stress"
[ ! -e "$work/stress/report.html" ] || fail "stress: a report nobody asked for"
"$caprisk" report "$work/stress" --quiet
grep -q "Stresses against the base" "$work/stress/report.html" || fail "stress: no comparison"
grep -q "fan charts join those points" "$work/stress/report.html" ||
  fail "stress: no note that the run reported few months"
cmp -s "$work/stress/percentiles.csv" "$work/stress/.caprisk/current/percentiles.csv" ||
  fail "stress: the tables moved"
render stress
"$caprisk" sensitivity "$minimal" --paths 2000 --quiet --report --out "$work/sensitivity"
grep -q "Sensitivity (tornado)" "$work/sensitivity/report.html" || fail "sensitivity: no tornado"
render sensitivity
# Not an output folder: exit 2 and a message.
set +e
message="$("$caprisk" report "$work/nowhere" 2>&1)"; status=$?
set -e
[ "$status" = 2 ] || fail "report of a missing folder exited $status: $message"
# A folder of the user's own: refused, and left exactly as it was.
mkdir "$work/mine" && echo "notes" >"$work/mine/notes.txt"
set +e
message="$("$caprisk" report "$work/mine" 2>&1)"; status=$?
set -e
[ "$status" = 2 ] || fail "report of a user's folder exited $status: $message"
[ "$(ls -A "$work/mine")" = "notes.txt" ] || fail "report touched a user's folder: $(ls -A "$work/mine")"
echo "all reports in $((SECONDS - start)) s"
