#!/usr/bin/env bash
# `make package [LIB=path/to/libyours.so]`: versioned tarballs of the plugin for EMQX 4.2
# and 4.4, from `make plugin`'s directory (_build/plugin/emqx_rust_hook/) and LIB:
#   _build/package/emqx_rust_hook-<vsn>-emqx<4.2|4.4>-<lib>.tar.gz, each holding one dir
#   of the same name with
#     emqx_rust_hook/        the plugin dir (ebin/, priv/ with the schema and the library,
#                            etc/emqx_rust_hook.conf)
#     emqx_rust_hook.conf    the conf for <emqx>/etc/plugins/, `path` naming the library
#     INSTALL.md             the install steps for that release (package/INSTALL-<v>.md)
#     SHA256SUMS             sha256sum of every other file (check: sha256sum -c SHA256SUMS)
set -euo pipefail
cd "$(dirname "$0")/.."
LIB=${1:?usage: package/package.sh path/to/libyours.so}
[ -f "$LIB" ] || { echo "no library at $LIB" >&2; exit 1; }
PLUGIN=_build/plugin/emqx_rust_hook
[ -f "$PLUGIN/ebin/emqx_rust_hook.app" ] || { echo "$PLUGIN is missing: run make plugin" >&2; exit 1; }
VSN=$(sed -n 's/.*{vsn, *"\([^"]*\)"}.*/\1/p' "$PLUGIN/ebin/emqx_rust_hook.app")
LIBFILE=$(basename "$LIB")
STEM=${LIBFILE#lib}; STEM=${STEM%.so}
OUT=_build/package
mkdir -p "$OUT"
for V in 4.2 4.4; do
    NAME=emqx_rust_hook-$VSN-emqx$V-$STEM
    STAGE=$OUT/stage/$NAME
    rm -rf "$OUT/stage" && mkdir -p "$STAGE"
    cp -a "$PLUGIN" "$STAGE/emqx_rust_hook"
    # Only the chosen library in priv/ (make plugin put the example there).
    rm -f "$STAGE"/emqx_rust_hook/priv/*.so
    cp "$LIB" "$STAGE/emqx_rust_hook/priv/$LIBFILE"
    sed "s|^exhook.drivers.rust.path = .*|exhook.drivers.rust.path = $LIBFILE|" \
        erlang/etc/emqx_rust_hook.conf > "$STAGE/emqx_rust_hook/etc/emqx_rust_hook.conf"
    cp "$STAGE/emqx_rust_hook/etc/emqx_rust_hook.conf" "$STAGE/emqx_rust_hook.conf"
    sed -e "s|@VSN@|$VSN|g" -e "s|@LIB@|$LIBFILE|g" -e "s|@NAME@|$NAME|g" \
        "package/INSTALL-$V.md" > "$STAGE/INSTALL.md"
    (cd "$STAGE" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort \
        | xargs sha256sum > SHA256SUMS)
    tar -C "$OUT/stage" --owner=0 --group=0 -czf "$OUT/$NAME.tar.gz" "$NAME"
    rm -rf "$OUT/stage"
    echo "$OUT/$NAME.tar.gz"
done
