#!/usr/bin/env bash
# The architecture the build carries (HACKING.md, "Decisions"): every include of a libcommon header
# inside libcommon/ draws an allowed arrow between its areas:
#   core      depends on nothing else;
#   tailscale depends on core only;
#   route     depends on core only;
#   net       depends on core and route.
# cmd/, fuzz/ and tests/ may include any area. A relative include that climbs out of its folder
# ("../…") and an include of an unknown area count as violations too. Each violation is printed as
# FILE:LINE with the arrow it draws; the test fails if there is one. The tb_ libraries each
# libcommon/AREA/CMakeLists.txt links are held to the same arrows.
. "$(dirname "$0")/lib.sh"

areas="core tailscale route net"
allowed() {  # FROM TO
  [ "$1" = "$2" ] && return 0
  case $1:$2 in
    tailscale:core | route:core | net:core | net:route) return 0 ;;
  esac
  return 1
}

cd "$TB_SRC" || fail "cannot enter $TB_SRC"
[ -d libcommon ] || fail "no libcommon/ in $TB_SRC"
grep -rnE --include='*.hpp' --include='*.cpp' --include='*.h' --include='*.cc' \
  '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]' libcommon >"$t/includes" || true

include_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]([^">]*)[">]'
checked=0 bad=0
while IFS=: read -r file line text; do
  [[ $text =~ $include_re ]] || continue
  target=${BASH_REMATCH[1]}
  from=${file#libcommon/}
  from=${from%%/*}
  case $target in
    libcommon/*) to=${target#libcommon/} to=${to%%/*} ;;
    ../* | */../*)
      echo "$file:$line: $from includes \"$target\": a relative include out of its folder" >&2
      bad=$((bad + 1))
      continue
      ;;
    *) continue ;;  # a system or third-party header, or one beside the file
  esac
  checked=$((checked + 1))
  if [[ " $areas " != *" $from "* || " $areas " != *" $to "* ]]; then
    echo "$file:$line: $from -> $to (\"$target\"): not an area of libcommon ($areas)" >&2
    bad=$((bad + 1))
  elif ! allowed "$from" "$to"; then
    echo "$file:$line: $from -> $to (\"$target\"): not an allowed arrow" >&2
    bad=$((bad + 1))
  fi
done <"$t/includes"

# The libraries say the same: each libcommon/AREA/CMakeLists.txt links only the tb_ libraries of
# areas its arrows allow (tb_netcodec and tb_net are both net).
links=0
for cm in libcommon/*/CMakeLists.txt; do
  from=${cm#libcommon/}
  from=${from%%/*}
  # The words inside every target_link_libraries( … ), the target itself included.
  for lib in $(tr '\n' ' ' <"$cm" | grep -oE 'target_link_libraries\([^)]*\)' | sed -E 's/^target_link_libraries\(//; s/\)$//'); do
    [[ $lib =~ ^tb_(core|tailscale|route|net|netcodec)$ ]] || continue
    to=${BASH_REMATCH[1]}
    [ "$to" = netcodec ] && to=net
    links=$((links + 1))
    allowed "$from" "$to" && continue
    echo "$cm: a library of $from links $lib: $from -> $to is not an allowed arrow" >&2
    bad=$((bad + 1))
  done
done
[ "$links" -gt 0 ] || fail "no tb_ library linked in libcommon/*/CMakeLists.txt: the search is broken"

# A search that finds nothing proves nothing: libcommon's own areas include each other.
[ "$checked" -gt 0 ] || fail "no #include \"libcommon/…\" found under libcommon/: the search is broken"
[ "$bad" = 0 ] || fail "$bad include(s) or link(s) break the layering (above)"
echo "ok: $checked includes of libcommon headers inside libcommon/ and $links links of its libraries follow the arrows"
