#!/usr/bin/env bash
# Refresh the vendored browser assets from npm (make vendor). Versions are pinned here;
# change one, run `make vendor`, look at the diff, commit.
set -euo pipefail
DEST="$(cd "$(dirname "$0")/.." && pwd)/src/issuegraph/web/static/vendor"
PACKAGES=(
  "htmx.org@2.0.11:dist/htmx.min.js"
  "cytoscape@3.35.0:dist/cytoscape.min.js"
  "cytoscape-dagre@4.0.1:dist/cytoscape-dagre.min.js"
  "axe-core@4.14.1:axe.min.js"
)
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$DEST"
rm -f "$DEST"/*.js "$DEST"/LICENSE.*
{
  echo "# Vendored browser assets"
  echo
  echo "Copied from their npm packages by \`make vendor\` (scripts/vendor.sh); the server uses no CDN."
  echo
  echo "| package | version | licence | file |"
  echo "|---|---|---|---|"
} > "$WORK/VENDORED.md"
for spec in "${PACKAGES[@]}"; do
  pkg="${spec%%:*}"
  file="${spec#*:}"
  name="${pkg%@*}"
  (cd "$WORK" && npm pack --silent "$pkg" > /dev/null)
  tgz="$(ls "$WORK"/*.tgz)"
  mkdir -p "$WORK/$name"
  tar xzf "$tgz" -C "$WORK/$name"
  rm -f "$tgz"
  version="$(node -p "require('$WORK/$name/package/package.json').version")"
  license="$(node -p "require('$WORK/$name/package/package.json').license")"
  cp "$WORK/$name/package/$file" "$DEST/$(basename "$file")"
  for lic in LICENSE LICENSE.md LICENSE.txt; do
    if [ -f "$WORK/$name/package/$lic" ]; then cp "$WORK/$name/package/$lic" "$DEST/LICENSE.$name"; break; fi
  done
  echo "| $name | $version | $license | $(basename "$file") |" >> "$WORK/VENDORED.md"
done
cp "$WORK/VENDORED.md" "$DEST/VENDORED.md"
echo "vendored into $DEST"
