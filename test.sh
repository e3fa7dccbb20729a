#!/usr/bin/env bash
# Runs every test of logjail: gofmt, go vet, all Go tests with the race
# detector (the root-only firewall and end-to-end tests included), and a
# short run of every fuzz target.
#
#   sudo ./test.sh            FUZZTIME=30s sudo ./test.sh
#
# As root it first installs what the tests drive, from Debian's packages
# (iptables, ipset, nftables, OpenSSH, rsyslog, fail2ban, sshguard,
# chromium, man-db, lintian, zsh, rpm, systemd, ...) and the Mailpit SMTP server (go install, pinned).
# With CI=true a test whose tool is missing fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")"
fuzztime=${FUZZTIME:-8s}

packages=(iptables ipset nftables iproute2 openssh-server openssh-client sshpass rsyslog fail2ban sshguard bc util-linux chromium systemd-journal-remote postgresql man-db lintian zsh rpm systemd)
tools=(iptables ip6tables ipset nft ip sshd sshpass rsyslogd fail2ban-regex /usr/libexec/sshguard/sshg-parser bc taskset chromium journalctl /lib/systemd/systemd-journal-remote man groff lintian zsh rpm systemctl)
missing=()
for t in "${tools[@]}"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
[ -n "$(pg_bin)" ] || missing+=(postgres)
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "test.sh: installing test tools (missing: ${missing[*]})"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
	else
		echo "test.sh: missing ${missing[*]}; the tests that need them will skip (run as root to install them)" >&2
	fi
fi

# Mailpit: a real SMTP server (and sendmail) for the digest tests.
mailpit_version=v1.27.11
export PATH="$(go env GOPATH)/bin:$PATH"
mailpit_bin=$(command -v mailpit || true)
if [ -z "$mailpit_bin" ] || ! go version -m "$mailpit_bin" | grep -q "mailpit[[:space:]]*$mailpit_version"; then
	echo "test.sh: installing mailpit $mailpit_version"
	(cd / && GOFLAGS=-mod=mod go install "github.com/axllent/mailpit@$mailpit_version")
fi

# PostgreSQL: a throwaway cluster for the fleet's tests (LOGJAIL_TEST_PG),
# on a socket directory and a loopback port, stopped at the end, also on
# failure. It runs as user postgres (initdb refuses root).
pgbin=$(pg_bin)
if [ -n "$pgbin" ] && [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
	pgdir=$(mktemp -d /tmp/logjail-test-pg.XXXXXX)
	chown postgres: "$pgdir"
	chmod 755 "$pgdir"
	pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
	stop_pg() {
		runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
		rm -rf "$pgdir"
	}
	trap stop_pg EXIT
	runuser -u postgres -- "$pgbin/initdb" -D "$pgdir/data" --auth-local=trust --auth-host=scram-sha-256 --no-sync -U postgres >/dev/null
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -w -l "$pgdir/log" \
		-o "-k $pgdir -p $pgport -c fsync=off -c listen_addresses=127.0.0.1" start >/dev/null
	export LOGJAIL_TEST_PG="host=$pgdir port=$pgport user=postgres"
	export LOGJAIL_TEST_PGBIN="$pgbin"
	echo "test.sh: PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on $pgdir port $pgport"
elif [ "${CI:-}" = true ]; then
	echo "test.sh: CI=true and no PostgreSQL server to start (package postgresql, run as root)" >&2
	exit 1
else
	echo "test.sh: no PostgreSQL (package postgresql, run as root): the fleet's tests will skip" >&2
fi

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "test.sh: not gofmt-formatted: $unformatted" >&2
	exit 1
fi
# The binary is built with -tags urfave_cli_no_docs (README, From source;
# dist/package): the tests build what ships.
tags=urfave_cli_no_docs
go vet -tags "$tags" ./...
# The CLI tests run the race-built test binary as "logjail" hundreds of
# times; the race runtime would sleep a second at each exit.
export GORACE=atexit_sleep_ms=0
# The root package takes about 4 minutes with -race on a loaded 2-core
# machine: more room than go test's default 10 minutes a package, still
# inside CI's 30.
go test -race -tags "$tags" -count=1 -timeout 20m ./...

# A short run of every fuzz target, one at a time (go test -fuzz takes one).
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		fuzz() { go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/logjail-fuzz.log 2>&1; }
		# Go 1.26's fuzz coordinator can fail a target with a bare "context
		# deadline exceeded" when -fuzztime ends during an input
		# (golang/go#75804, fixed in Go 1.27). That, and only that, with no
		# failing input written, is run again once.
		if ! fuzz; then
			if grep -q 'context deadline exceeded' /tmp/logjail-fuzz.log && ! grep -q 'Failing input written' /tmp/logjail-fuzz.log; then
				echo "test.sh: $target hit Go's fuzztime deadline race (golang/go#75804); running it again"
				fuzz && continue_ok=1
			fi
			if [ -z "${continue_ok:-}" ]; then
				cat /tmp/logjail-fuzz.log >&2
				echo "test.sh: fuzz target $target of $pkg failed" >&2
				exit 1
			fi
			unset continue_ok
		fi
		echo "fuzz ok  $pkg $target ($fuzztime)"
	done
done
echo "test.sh: all tests passed"
