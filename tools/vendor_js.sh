#!/usr/bin/env bash
# Fetch the JavaScript the built book needs from the npm registry into _vendor/static (git-ignored),
# so that no page loads anything from a CDN: MathJax 3, require.js and the Jupyter widgets
# HTML manager. These are dependencies (like pip packages), not the project's own code.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=_vendor/static
STAMP=_vendor/.vendored-v1
[ -f "$STAMP" ] && exit 0
command -v npm >/dev/null || { echo "npm is needed to vendor MathJax and the widget manager (apt-get install npm)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @jupyter-widgets/html-manager@1.0.15 requirejs@2.3.8 mathjax@3.2.2 >/dev/null)
for f in "$tmp"/*.tgz; do d="$tmp/x/$(basename "$f" .tgz)"; mkdir -p "$d"; tar xzf "$f" -C "$d"; done
rm -rf "$OUT" && mkdir -p "$OUT/mathjax"
cp "$tmp"/x/requirejs-*/package/require.js "$OUT/"
# embed-amd.js and the icon fonts it references by relative URL
find "$tmp"/x/jupyter-widgets-html-manager-*/package/dist -maxdepth 1 -type f \
  \( -name 'embed-amd.js' -o -name '*.woff*' -o -name '*.ttf' -o -name '*.eot' -o -name '*.svg' \) \
  -exec cp {} "$OUT/" \;
# MathJax: the combined TeX+MathML→CHTML component, the output fonts and lazily loaded pieces
cp -r "$tmp"/x/mathjax-*/package/es5/. "$OUT/mathjax/"
rm -rf "$OUT/mathjax/sre/mathmaps" 2>/dev/null || true
touch "$STAMP"
echo "vendored JavaScript into $OUT"
