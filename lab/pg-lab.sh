# pg-lab.sh: PostgreSQL servers inside a walmptcp-lab topology, for the demo
# and the benchmark (the TAP tests use t/WalmptcpLab.pm instead).  Source it
# from a bash script running as root:
#
#   . lab/pg-lab.sh
#   pglab_prepare [--bench]           # root check, packages, build, install
#   pglab_name PREFIX                 # a free lab name: PREFIX + 4 hex digits
#   trap pglab_cleanup EXIT INT TERM  # the caller's trap: lab and work dir go
#   pglab_up NAME PATHS RATE [LAB OPTIONS]  # lab + work dir
#                                     # (e.g. --flow-cap 10 --signal-ports 5202,5203)
#   pglab_primary [extra conf]        # primary on port 5432, walmptcp loaded
#   pglab_base                        # base backup for standbys
#   pglab_standby SNAME PORT MODE     # standby clone, mptcp=MODE, not started
#   pg HOST PROG ARGS...              # a PostgreSQL program in a namespace
#   pg_run HOST CMD...                # any command, as pg runs its programs
#   psql_p SQL / psql_s PORT SQL      # one query on the primary / a standby
#
# Servers run as the postgres user with no capabilities, or with
# CAP_NET_ADMIN when PGLAB_NET_ADMIN=1 (the supervisor's endpoint repair).
# pg-lab.sh sets no trap: the caller owns its traps and makes pglab_cleanup
# part of its EXIT (and INT, TERM) trap before the first pglab_up.
#
# Copyright (c) 2026, the walmptcp authors

PGLAB_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB="$PGLAB_TOP/lab/walmptcp-lab"
# pg_config may only exist once pglab_prepare has installed PostgreSQL
PGBIN=$(pg_config --bindir 2>/dev/null) || PGBIN=

# What each script does first: a check that it runs as root, the packages
# (test/install-deps, with --bench the benchmark's too), walmptcp built
# without warnings (and without the tests' hooks) and installed.
pglab_prepare() {
	local me; me=$(basename "$(dirname "$0")")/$(basename "$0")
	[ "$(id -u)" = 0 ] || { echo "$me: run as root" >&2; exit 2; }
	"$PGLAB_TOP/test/install-deps" "$@"
	# clean first: objects left by test/run-tests carry the test hooks
	(cd "$PGLAB_TOP" && make -s clean && make -s COPT=-Werror >/dev/null && make -s install >/dev/null)
	PGBIN=$(pg_config --bindir)
}

pglab_name() { "$LAB" new-name "$1"; }

pglab_cleanup() {
	[ -n "${PGLAB_NAME:-}" ] && "$LAB" down "$PGLAB_NAME" 2>/dev/null
	[ -n "${PGLAB_WORK:-}" ] && rm -rf "$PGLAB_WORK"
	PGLAB_NAME=
}

pglab_up() {
	PGLAB_NAME=$1
	PGLAB_WORK=$(mktemp -d /tmp/walmptcp-lab.XXXXXX)
	chown postgres: "$PGLAB_WORK"
	"$LAB" up "$PGLAB_NAME" --paths "$2" --rate "$3" "${@:4}"
	P1=$("$LAB" addr "$PGLAB_NAME" primary 1)
}

# pg_run HOST CMD...: a command in a host's namespace as postgres, with the
# lab's capability policy (walmptcp-lab run-as-postgres)
pg_run() {
	local host=$1 keep=()
	shift
	[ "${PGLAB_NET_ADMIN:-0}" = 1 ] && keep=(--keep-net-admin)
	"$LAB" run-as-postgres "$PGLAB_NAME" "$host" "${keep[@]}" "$@"
}

pg() { local host=$1 prog=$2; shift 2; pg_run "$host" "$PGBIN/$prog" "$@"; }

psql_p() { pg primary psql -X -qAt -h "$PGLAB_WORK" -p 5432 -d postgres -c "$1"; }
psql_s() { pg standby psql -X -qAt -h "$PGLAB_WORK" -p "$1" -d postgres -c "$2"; }

pglab_primary() {
	pg primary initdb -D "$PGLAB_WORK/primary" -A trust >/dev/null
	"$LAB" node-conf >> "$PGLAB_WORK/primary/postgresql.conf"
	# the benchmarks' backlogs need more WAL kept than node-conf's (the
	# later setting wins)
	cat >> "$PGLAB_WORK/primary/postgresql.conf" <<EOF
port = 5432
unix_socket_directories = '$PGLAB_WORK'
max_wal_size = 8GB
wal_keep_size = 8GB
wal_level = logical
${1:-}
EOF
	"$LAB" hba-lines trust >> "$PGLAB_WORK/primary/pg_hba.conf"
	pg primary pg_ctl -D "$PGLAB_WORK/primary" -l "$PGLAB_WORK/primary.log" -w start >/dev/null
}

pglab_base() {
	rm -rf "${PGLAB_WORK:?}/base"
	pg standby pg_basebackup -h "$P1" -p 5432 -D "$PGLAB_WORK/base" -X stream --no-sync -c fast
}

pglab_standby() {
	local sname=$1 port=$2 mode=$3
	rm -rf "${PGLAB_WORK:?}/$sname"
	cp -a "$PGLAB_WORK/base" "$PGLAB_WORK/$sname"
	cat >> "$PGLAB_WORK/$sname/postgresql.conf" <<EOF
port = $port
primary_conninfo = 'host=$P1 port=5432 application_name=$sname mptcp=$mode'
EOF
	touch "$PGLAB_WORK/$sname/standby.signal"
	chown postgres: "$PGLAB_WORK/$sname/standby.signal"
}

pglab_start() { pg standby pg_ctl -D "$PGLAB_WORK/$1" -l "$PGLAB_WORK/$1.log" -w start >/dev/null; }
pglab_stop() { pg standby pg_ctl -D "$PGLAB_WORK/$1" -m fast -w stop >/dev/null; }

# Wait until standby SNAME streams (caught up), at most 2 minutes.
pglab_wait_streaming() {
	for _ in $(seq 1 600); do
		[ "$(psql_p "select count(*) from pg_stat_replication where application_name='$1' and state='streaming'")" = 1 ] && return 0
		sleep 0.2
	done
	return 1
}

now() { date +%s.%N; }
