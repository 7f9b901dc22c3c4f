#!/bin/sh
# The main job: analyze the bundled example trajectory with the offline analyzer.
# No API key, no network. Installs and builds what it needs first.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
mkdir -p build
sh scripts/build.sh build >/dev/null
out=$(mktemp -d)
if ./build/bin/codetracer analyze --help >/dev/null 2>&1; then
    ./build/bin/codetracer analyze examples/mini-swe-agent/django-regression.traj.json --output-dir "$out" --traj-id example
    echo "outputs written to $out/example/"
else
    ./build/bin/codetracer inspect examples/mini-swe-agent/django-regression.traj.json
fi
