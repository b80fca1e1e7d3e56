# Sourced by test.sh and benches/swift-calls/run.sh where no `swift` is on the
# PATH: provisions (once) and mounts a cached Debian trixie chroot with
# Debian's swiftlang, and defines
#
#   in_chroot CMD                      runs CMD (bash) inside it
#   copy_into_chroot LIB EMU DIR...    fresh copies of the repository folders
#                                      DIR... (their .build folders kept) and
#                                      of the library and emulator, under
#                                      /crane/target/$chroot_profile
#
# The caller sets `root` (the repository), `chroot_profile` (debug or
# release: where the library is put, and what CRANE_CONTEXT_LIB_DIR says)
# and defines `skip REASON` (exit 77 after saying why).

[ "$(id -u)" = 0 ] || skip "no swift on the PATH and not root (cannot build a chroot); install Swift 6 or run as root"
command -v apt-get >/dev/null 2>&1 || skip "no swift on the PATH and no apt-get to provision one"
command -v chroot >/dev/null 2>&1 || skip "no chroot command"

chroot_dir="${CRANE_SWIFT_CHROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/crane-context/swift-trixie}"
mirror="${CRANE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mkdir -p "$(dirname "$chroot_dir")"
chmod 700 "$(dirname "$chroot_dir")"

# One run at a time per chroot (mounts and .build folders are shared).
exec 9>"$chroot_dir.lock"
flock 9

mounted=()
cleanup() {
  local m
  for m in "${mounted[@]}"; do
    umount -l "$m" 2>/dev/null || true
  done
}
trap cleanup EXIT

# /proc and /dev inside the chroot (swift and apt need both). A machine that
# refuses mounts to root (an unprivileged container) cannot run the chroot.
mount_chroot() {
  if ! mountpoint -q "$chroot_dir/proc"; then
    mount -t proc proc "$chroot_dir/proc" || skip "cannot mount /proc in the chroot (no mount privilege here)"
    mounted+=("$chroot_dir/proc")
  fi
  if ! mountpoint -q "$chroot_dir/dev"; then
    mount --bind /dev "$chroot_dir/dev" || skip "cannot bind-mount /dev into the chroot (no mount privilege here)"
    mounted+=("$chroot_dir/dev")
  fi
}

in_chroot() {
  chroot "$chroot_dir" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    CRANE_CONTEXT_LIB_DIR="/crane/target/$chroot_profile" \
    CRANE_EMULATOR_BIN="/crane/target/$chroot_profile/crane-context-emulator" \
    bash -c "$1"
}

ready="$chroot_dir/.crane-swift-ready"
if [ ! -f "$ready" ]; then
  echo "== swift: provisioning a Swift toolchain in $chroot_dir (first run: ~570 MB download, ~3 min)"
  if ! command -v debootstrap >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  if [ ! -x "$chroot_dir/usr/bin/apt-get" ]; then
    rm -rf "$chroot_dir"
    debootstrap --variant=minbase trixie "$chroot_dir" "$mirror" >"$chroot_dir.debootstrap.log" 2>&1 || {
      tail -20 "$chroot_dir.debootstrap.log" >&2
      echo "debootstrap of Debian trixie failed (log: $chroot_dir.debootstrap.log)." >&2
      echo "Set CRANE_DEBIAN_MIRROR to a reachable mirror, or CRANE_SWIFT=skip to skip Swift on purpose." >&2
      exit 1
    }
  fi
  cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf" 2>/dev/null || true
  mount_chroot
  in_chroot "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends swiftlang libc6-dev libstdc++-14-dev ca-certificates >/dev/null && apt-get clean"
  in_chroot "swift --version" >"$ready"
fi
mount_chroot
echo "== swift: $(head -1 "$ready") (chroot $chroot_dir)"

copy_into_chroot() {
  local lib="$1" emu="$2" dir dest
  shift 2
  for dir in "$@"; do
    dest="$chroot_dir/crane/$dir"
    mkdir -p "$dest"
    find "$dest" -mindepth 1 -maxdepth 1 ! -name .build -exec rm -rf {} +
    tar -C "$root" --exclude=.build --exclude=.swiftpm -cf - "$dir" | tar -C "$chroot_dir/crane" -xf -
  done
  mkdir -p "$chroot_dir/crane/target/$chroot_profile"
  cp "$lib"/libcrane_context.so "$emu" "$chroot_dir/crane/target/$chroot_profile/"
}
