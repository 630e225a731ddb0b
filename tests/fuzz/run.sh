#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs each libFuzzer target for a bounded time on a corpus seeded from
# tests/fixtures, then prints one line of figures per target.
#
# Usage: tests/fuzz/run.sh SECONDS OUTDIR TARGET...
#   OUTDIR gets corpus/<target>/ (kept between runs: it grows), logs/ and
#   artifacts/ (the input of any crash, leak or timeout).
# Exits 1 when any target found a problem.
set -u
seconds=$1
out=$2
shift 2
here=$(dirname "$0")
fixtures=$here/../fixtures
mkdir -p "$out/logs" "$out/artifacts"
status=0
summary=""
for bin in "$@"; do
	name=$(basename "$bin")
	case $name in
	fuzz_rs_*) seeds="$fixtures/runscope_*.json" ;;
	fuzz_xm_*) seeds="$fixtures/xmatters_*.json" ;;
	fuzz_state_*) seeds="$here/seeds/state/*.json" ;;
	*) seeds="$fixtures/*.json $here/seeds/state/*.json" ;;
	esac
	# seeds of their own: trigger answers (both APIs' and a gateway's),
	# captured traffic, list pages
	case $name in
	*trigger*) seeds="$seeds $here/seeds/triggers/*" ;;
	*messages*) seeds="$seeds $here/seeds/traffic/*" ;;
	fuzz_jscan_* | *fast_vs_tree*) seeds="$seeds $here/seeds/pages/*" ;;
	esac
	corpus=$out/corpus/$name
	mkdir -p "$corpus"
	# shellcheck disable=SC2086
	cp $seeds "$corpus/"
	log=$out/logs/$name.log
	echo "== $name: $seconds s"
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -dict="$here/json.dict" \
		-artifact_prefix="$out/artifacts/$name-" "$corpus" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p')
	rate=$(echo "$last" | sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p')
	if [ "$rc" -eq 0 ]; then
		verdict="no crash"
	else
		verdict="FAILED (exit $rc, see $log)"
		status=1
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5
	fi
	line=$(printf '%-28s execs %-10s exec/s %-7s cov %-6s ft %-6s corpus %-12s %s' \
		"$name" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
		"${corp:-?}" "$verdict")
	echo "$line"
	summary="$summary$line
"
done
echo "== fuzz summary ($seconds s per target)"
printf '%s' "$summary"
exit $status
