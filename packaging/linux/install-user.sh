#!/bin/sh
# Install dist/trustpager-desktop/ for the current user: program folder, command links,
# menu entry, AppStream metadata and icons. Run from the repository root after `make package`.
set -eu
APP_ID=org.trustpager.TrustPagerDesktop
SRC=dist/trustpager-desktop
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
PREFIX=$HOME/.local/opt/trustpager-desktop
BIN=$HOME/.local/bin

[ -x "$SRC/trustpager-desktop" ] || { echo "build first: make package" >&2; exit 1; }
mkdir -p "$PREFIX" "$BIN" "$DATA/applications" "$DATA/metainfo"
rm -rf "$PREFIX" && cp -a "$SRC" "$PREFIX"
ln -sf "$PREFIX/trustpager-desktop" "$BIN/trustpager-desktop"
ln -sf "$PREFIX/trustpager" "$BIN/trustpager"
sed "s|^Exec=trustpager-desktop|Exec=$BIN/trustpager-desktop|; s|^TryExec=.*|TryExec=$BIN/trustpager-desktop|" \
    resources/linux/$APP_ID.desktop > "$DATA/applications/$APP_ID.desktop"
cp resources/linux/$APP_ID.metainfo.xml "$DATA/metainfo/"
for size in 16 32 48 64 128 256 512; do
    dir="$DATA/icons/hicolor/${size}x${size}/apps"
    mkdir -p "$dir" && cp "resources/icons/trustpager-$size.png" "$dir/$APP_ID.png"
done
mkdir -p "$DATA/icons/hicolor/scalable/apps"
cp resources/icons/trustpager.svg "$DATA/icons/hicolor/scalable/apps/$APP_ID.svg"
command -v update-desktop-database >/dev/null && update-desktop-database "$DATA/applications" || true
echo "installed: $BIN/trustpager-desktop"
