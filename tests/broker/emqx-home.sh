#!/usr/bin/env bash
# Prints the EMQX_HOME the broker suite runs against.
#   - $EMQX_HOME when it is set (an EMQX 4.2 release, or a DEST built from the kit);
#   - else the EMQX 4.2.14 kit beside the repository (../shared/emqx/build.sh, or $EMQX_KIT),
#     built once into a cache dir that survives between runs
#     (${EMQX_CACHE_DIR:-$HOME/.cache/emqx-rust-hook}/emqx-4.2.14-<hash of build.sh and tarball>),
#     rebuilt only when the kit changes.
# Exits 2 with the reason on stderr when there is neither.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)

if [ -n "${EMQX_HOME:-}" ]; then
    [ -x "$EMQX_HOME/bin/emqx" ] || { echo "EMQX_HOME=$EMQX_HOME has no bin/emqx" >&2; exit 2; }
    cd "$EMQX_HOME" && pwd -P
    exit 0
fi

KIT=${EMQX_KIT:-}
if [ -z "$KIT" ]; then
    # A clone sits at <dir>/<repo> with the kit at <dir>/shared/emqx; a worktree may sit one level deeper.
    for d in "$ROOT/../shared/emqx" "$ROOT/../../shared/emqx"; do
        if [ -f "$d/build.sh" ]; then KIT=$(cd "$d" && pwd -P); break; fi
    done
fi
if [ -z "$KIT" ] || [ ! -f "$KIT/build.sh" ]; then
    echo "EMQX_HOME is not set and no EMQX kit was found (looked for shared/emqx/build.sh beside the repository${EMQX_KIT:+ and in EMQX_KIT=$EMQX_KIT})" >&2
    exit 2
fi

CACHE=${EMQX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/emqx-rust-hook}
HASH=$(cat "$KIT/build.sh" "$KIT"/*.tar.gz | sha256sum | cut -c1-12)
DEST=$CACHE/emqx-4.2.14-$HASH
if [ ! -x "$DEST/bin/emqx" ] || [ ! -f "$DEST/.built" ]; then
    mkdir -p "$CACHE"
    rm -rf "$DEST" "$DEST.partial"
    LOG=$CACHE/build-$HASH.log
    echo "building EMQX 4.2.14 from $KIT into $DEST (log: $LOG)" >&2
    if ! bash "$KIT/build.sh" "$DEST.partial" > "$LOG" 2>&1; then
        tail -n 30 "$LOG" >&2
        echo "building EMQX from $KIT failed (log: $LOG)" >&2
        exit 1
    fi
    tail -n 1 "$LOG" >&2
    mv "$DEST.partial" "$DEST"
    touch "$DEST/.built"
    # older builds of a previous kit
    for old in "$CACHE"/emqx-4.2.14-*; do
        [ "$old" = "$DEST" ] || rm -rf "$old"
    done
fi
echo "$DEST"
