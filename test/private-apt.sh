# private-apt.sh: apt with a configuration, sources, state and cache of its
# own, for downloading from Debian's registry without reading or changing
# the host's /etc/apt (APT_CONFIG is read first and points everything else,
# the main file and the parts directory included, away from it).  Source it:
#
#   . test/private-apt.sh
#   private_apt_setup DIR 'deb URI SUITE main' ...   # one sources.list line each
#   papt apt-get update -qq                          # any apt program, that state
#
# Nothing is installed on the host: callers download (apt-get download,
# apt-get source --download-only) and extract.
#
# Copyright (c) 2026, the walmptcp authors

private_apt_setup() {
	PRIVATE_APT_DIR=$1
	shift
	local d=$PRIVATE_APT_DIR line
	mkdir -p "$d/etc/parts" "$d/etc/sources" "$d/state/lists/partial" "$d/cache/archives/partial"
	[ -f "$d/state/status" ] || : > "$d/state/status"
	: > "$d/etc/sources.list"
	for line in "$@"; do echo "$line" >> "$d/etc/sources.list"; done
	cat > "$d/apt.conf" <<-CONF
	Dir::Etc::main "/dev/null";
	Dir::Etc::parts "$d/etc/parts";
	Dir::Etc::sourcelist "$d/etc/sources.list";
	Dir::Etc::sourceparts "$d/etc/sources";
	Dir::Etc::preferences "/dev/null";
	Dir::Etc::preferencesparts "$d/etc/parts";
	Dir::State "$d/state";
	Dir::State::status "$d/state/status";
	Dir::Cache "$d/cache";
	APT::Architecture "amd64";
	APT::Architectures { "amd64"; };
	Acquire::Languages "none";
	Acquire::Check-Valid-Until "false";
	Acquire::Retries "3";
	APT::Sandbox::User "root";
	CONF
}

papt() { APT_CONFIG="$PRIVATE_APT_DIR/apt.conf" "$@"; }
