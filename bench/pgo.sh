#!/usr/bin/env bash
# Rewrites default.pgo, the CPU profile that `go build` uses for
# profile-guided optimisation (https://go.dev/doc/pgo): the hot path of
# logjail is the filters and the engine, and replay of a large sshd corpus
# exercises both as `run` does, a million lines at a time.
#
#   bench/pgo.sh            then commit default.pgo if the bench improves
#
# It builds logjail with -tags profile (profile.go: the CPU profile goes to
# $LOGJAIL_CPUPROFILE), replays the bench corpus of bench/replay.sh five
# times on one core and once on two, and the bundled sample once into an
# HTML report, and merges the profiles.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/bench/out
mkdir -p "$out"
cd "$here"
corpus=$out/corpus-replay-1000000.log.gz
[ -s "$corpus" ] || go run ./bench/gencorpus -lines 1000000 -cycle 500 -o "$corpus" testdata/loghub/OpenSSH_2k.log
CGO_ENABLED=0 go build -pgo=off -tags profile,urfave_cli_no_docs -o "$out/logjail-profile" .
rm -f "$out"/pgo.*.prof
now=2026-11-30T00:00:00Z
for i in 1 2 3 4 5; do
	LOGJAIL_CPUPROFILE=$out/pgo.$i.prof GOMAXPROCS=1 \
		"$out/logjail-profile" --now "$now" replay --format json "$corpus" >/dev/null
done
LOGJAIL_CPUPROFILE=$out/pgo.6.prof GOMAXPROCS=2 \
	"$out/logjail-profile" --now "$now" replay --format json "$corpus" >/dev/null
LOGJAIL_CPUPROFILE=$out/pgo.7.prof \
	"$out/logjail-profile" --config testdata/quickstart.yaml --now 2025-12-10T11:30:00Z replay --format html testdata/loghub/OpenSSH_2k.log >/dev/null
go tool pprof -proto "$out"/pgo.*.prof >default.pgo
echo "bench/pgo.sh: default.pgo rewritten ($(wc -c <default.pgo) bytes)"
