# Sourced by test/pg-matrix and test/systemd-dropin: the Debian chroots they
# run in, each a throwaway overlay on a cached base that stays clean.
#
#   overlay_open MAJOR     # mounts an overlay on MAJOR's base; sets $overlay
#                          # (the root is $overlay/root)
#   mount_all ROOT         # /proc, /sys, /dev, its own /run and /tmp
#   umount_all ROOT
#   copy_tree ROOT         # the source tree to ROOT/src/walmptcp
#   in_root ROOT CMD...    # CMD in the chroot, in a clean environment
#   overlay_close          # undoes everything overlay_open and mount_all did
#
# Expects $top (the source tree) to be set; $WALMPTCP_CHROOTS moves the
# cache (default /var/cache/walmptcp-chroots).
#
# Copyright (c) 2026, the walmptcp authors

cache=${WALMPTCP_CHROOTS:-/var/cache/walmptcp-chroots}

suite_of() {
	case "$1" in
		17) echo trixie ;;
		18) echo forky ;;
		19) echo sid ;;
		*) echo "$(basename "$0"): no chroot for PostgreSQL $1 (15 and 16 run on the host; 17, 18, 19 in chroots)" >&2; exit 2 ;;
	esac
}

in_root() {  # in_root ROOT CMD...: a clean environment inside the chroot
	local root=$1; shift
	chroot "$root" /usr/bin/env -i LANG=C.UTF-8 HOME=/root TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

mount_all() {
	local root=$1
	mount -t proc proc "$root/proc"
	mount --rbind /sys "$root/sys"
	mount --make-rslave "$root/sys"
	mount --rbind /dev "$root/dev"
	mount --make-rslave "$root/dev"
	mount -t tmpfs tmpfs "$root/run"
	mkdir -p "$root/run/netns"
	mount -t tmpfs tmpfs "$root/tmp"
	chmod 1777 "$root/tmp"
}

umount_all() {
	local root=$1
	for m in tmp run dev sys proc; do
		umount -R -l "$root/$m" 2>/dev/null || true
	done
}

overlay=""
overlay_open() {  # overlay_open MAJOR: an overlay on MAJOR's cached base
	local base
	base="$cache/$(suite_of "$1")"
	[ -f "$base/.walmptcp-ready" ] || {
		echo "$(basename "$0"): no chroot for PostgreSQL $1 in $base (test/pg-matrix $1 makes it)" >&2
		return 1
	}
	overlay=$(mktemp -d /tmp/walmptcp-chroot.XXXXXX)
	mkdir -p "$overlay/upper" "$overlay/work" "$overlay/root"
	mount -t overlay overlay \
		-o "lowerdir=$base,upperdir=$overlay/upper,workdir=$overlay/work" \
		"$overlay/root"
}

overlay_close() {
	if [ -n "$overlay" ]; then
		umount_all "$overlay/root"
		umount -l "$overlay/root" 2>/dev/null || true
		rm -rf "$overlay"
		overlay=""
	fi
}

copy_tree() {  # copy_tree ROOT: the tree as it is now, less ignored files
	local root=$1
	mkdir -p "$root/src/walmptcp"
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$top" ls-files -z -co --exclude-standard |
			(cd "$top" && tar --null -T - -cf -) | tar -xf - -C "$root/src/walmptcp"
	else
		cp -a "$top/." "$root/src/walmptcp"
	fi
}
