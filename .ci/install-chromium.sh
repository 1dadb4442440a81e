#!/usr/bin/env bash
# System packages the documentation lane (`nox -s docs`) needs, from Debian apt:
#
#   chromium, chromium-driver  headless browser for tests/docs_site (the site is
#                              opened and screenshotted, not just parsed)
#   graphviz                   `dot`, which draws the order lifecycle diagram as
#                              SVG while the site is built (nothing is fetched
#                              from a CDN, at build or at view time)
#
# Idempotent: does nothing when every tool is already on PATH. Works as root and
# through sudo otherwise. Non-interactive (CI=true, no stdin). Exits non-zero
# with the reason when the packages cannot be installed, so the docs lane
# fails instead of skipping its browser test.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v dot >/dev/null 2>&1 || need+=(graphviz)

if [ "${#need[@]}" -eq 0 ]; then
    echo "install-chromium: chromium, chromedriver and dot are already installed"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo -n)
else
    echo "install-chromium: need root or sudo to install: ${need[*]}" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: apt-get not found; install ${need[*]} with this system's package manager" >&2
    exit 1
fi

echo "install-chromium: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq </dev/null
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" </dev/null

for tool in chromium chromedriver dot; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "install-chromium: $tool is still missing after apt-get install" >&2
        exit 1
    fi
done
echo "install-chromium: done ($(chromium --version 2>/dev/null || echo chromium), $(dot -V 2>&1))"
