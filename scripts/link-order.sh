# Sourced, not run: how a short-lived binary of ours is linked on Linux with
# glibc (scripts/build-crane.sh for `crane`, scripts/bench.sh for its status
# floor). Static and non-PIE, so the loader has nothing to map or relocate;
# and, where valgrind can profile it, with the functions it runs placed first
# (BENCHMARKS.md, changes 27, 39 and 40).
#
#   static_host                    # true on the targets linked this way
#   link_flags [LIST]              # rustc flags for such a link, LIST first
#   link_in_order LISTS BUILD PROFILE
#
# link_in_order calls `BUILD [LIST]` to link (with the list of the last
# ordered build, so that an unchanged tree is cargo's no-op), then `PROFILE
# OUT` to write the functions the built binary runs, and links again only
# when that list differs from the one linked. Lists live in LISTS, named by
# their SHA-256 so the flags name their content (cargo links again exactly
# when it changes); LISTS/current names the one in use. A profile that fails
# leaves the binary as built: an optimisation is never a reason not to build.

static_host() {
  case "$(rustc -vV | sed -n 's/^host: //p')" in
    x86_64-unknown-linux-gnu|aarch64-unknown-linux-gnu) return 0 ;;
    *) return 1 ;;
  esac
}

link_flags() { # link_flags [LIST]
  printf '%s\n' -C target-feature=+crt-static -C relocation-model=static
  if [ -n "${1:-}" ]; then
    printf '%s\n' -C "link-arg=-Wl,--symbol-ordering-file=$(realpath "$1")" \
      -C link-arg=-Wl,--no-warn-symbol-ordering
  fi
}

# Threads make a few functions come and go between profiles (a futex wait, a
# task's deallocation), and callgrind writes a profile's functions in no
# fixed order: a list whose groups (the lines before and after a line
# starting `--- `, see crane-startup-order.sh; a list without one is one
# group) hold the functions of the linked list's groups, but for fewer than
# 2 % of them, is the same list and needs no new link.
same_list() { # same_list LIST NEW
  local changed=0 g
  for g in 1 2; do
    changed=$((changed + $(comm -3 <(list_group "$1" $g) <(list_group "$2" $g) | wc -l)))
  done
  [ $((changed * 50)) -lt "$(wc -l <"$2")" ]
}
list_group() { # list_group LIST 1|2: that group's functions, sorted
  awk -v g="$2" '/^--- /{n = 2; next} (n ? n : 1) == g' "$1" | sort -u
}

link_in_order() { # link_in_order LISTS BUILD PROFILE
  local lists=$1 build=$2 profile=$3 used="" list
  if [ -f "$lists/current" ]; then
    used=$(cat "$lists/current")
    [ -f "$used" ] || used=""
  fi
  "$build" "$used"
  mkdir -p "$lists"
  if ! "$profile" "$lists/new"; then
    echo "link-order: warning: profiling failed; keeping ${used:-the source order}" >&2
  elif [ -n "$used" ] && same_list "$used" "$lists/new"; then
    rm "$lists/new"
    echo "link-order: unchanged ($used)" >&2
  else
    list="$lists/$(sha256sum "$lists/new" | cut -c1-16).txt"
    mv "$lists/new" "$list"
    "$build" "$list"
    echo "$list" >"$lists/current"
    echo "link-order: linked with the profiled order ($list)" >&2
  fi
}
