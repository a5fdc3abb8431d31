#!/usr/bin/env bash
# Prints the EMQX_HOME the broker suite runs against, for EMQX 4.2 (default) or 4.4:
#   tests/broker/emqx-home.sh [4.2|4.4]
#   - 4.2: $EMQX_HOME when it is set (an EMQX 4.2 release, or a DEST built from the kit);
#     4.4: $EMQX44_HOME when it is set (an EMQX 4.4 release, or a DEST built from the kit);
#   - else the kit beside the repository (4.2: ../shared/emqx/build.sh or $EMQX_KIT;
#     4.4: ../shared/emqx44/build.sh or $EMQX44_KIT), built once into a cache dir that
#     survives between runs
#     (${EMQX_CACHE_DIR:-$HOME/.cache/emqx-rust-hook}/emqx-<version>-<hash of build.sh and tarball>),
#     rebuilt only when the kit changes.
# Exits 2 with the reason on stderr when there is neither.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
VERSION=${1:-4.2}

case $VERSION in
    4.2) HOME_VAR=EMQX_HOME KIT_VAR=EMQX_KIT KIT_DIR=emqx RELEASE=4.2.14 ;;
    4.4) HOME_VAR=EMQX44_HOME KIT_VAR=EMQX44_KIT KIT_DIR=emqx44 RELEASE=4.4.19 ;;
    *) echo "usage: $0 [4.2|4.4]" >&2; exit 2 ;;
esac

if [ -n "${!HOME_VAR:-}" ]; then
    H=${!HOME_VAR}
    [ -x "$H/bin/emqx" ] || { echo "$HOME_VAR=$H has no bin/emqx" >&2; exit 2; }
    cd "$H" && pwd -P
    exit 0
fi

KIT=${!KIT_VAR:-}
if [ -z "$KIT" ]; then
    # A clone sits at <dir>/<repo> with the kit at <dir>/shared/<kit>; a worktree may sit one level deeper.
    for d in "$ROOT/../shared/$KIT_DIR" "$ROOT/../../shared/$KIT_DIR"; do
        if [ -f "$d/build.sh" ]; then KIT=$(cd "$d" && pwd -P); break; fi
    done
fi
if [ -z "$KIT" ] || [ ! -f "$KIT/build.sh" ]; then
    echo "$HOME_VAR is not set and no EMQX $VERSION kit was found (looked for shared/$KIT_DIR/build.sh beside the repository${!KIT_VAR:+ and in $KIT_VAR=${!KIT_VAR}})" >&2
    exit 2
fi

CACHE=${EMQX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/emqx-rust-hook}
HASH=$(cat "$KIT/build.sh" "$KIT"/*.tar.gz | sha256sum | cut -c1-12)
DEST=$CACHE/emqx-$RELEASE-$HASH
if [ ! -x "$DEST/bin/emqx" ] || [ ! -f "$DEST/.built" ]; then
    mkdir -p "$CACHE"
    rm -rf "$DEST" "$DEST.partial"
    LOG=$CACHE/build-$RELEASE-$HASH.log
    echo "building EMQX $RELEASE from $KIT into $DEST (log: $LOG)" >&2
    if ! bash "$KIT/build.sh" "$DEST.partial" > "$LOG" 2>&1; then
        tail -n 30 "$LOG" >&2
        echo "building EMQX from $KIT failed (log: $LOG)" >&2
        exit 1
    fi
    tail -n 1 "$LOG" >&2
    mv "$DEST.partial" "$DEST"
    touch "$DEST/.built"
    # older builds of a previous kit
    for old in "$CACHE"/emqx-$RELEASE-*; do
        [ "$old" = "$DEST" ] || [ "$old" = "$DEST.partial" ] || rm -rf "$old"
    done
fi
echo "$DEST"
