#!/bin/sh
# Builds the emoji image-text retrieval dataset; see build-emoji-dataset.js --help.
#   sh examples/build-emoji-dataset.sh                 # full set into data/full
#   sh examples/build-emoji-dataset.sh --subset 400    # committed subset into examples/emoji
# Checks the tools first, so that a missing one is named before anything is downloaded.
set -eu

program=build-emoji-dataset
here=$(cd "$(dirname "$0")" && pwd)

for tool in node npm tar; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "$program: $tool not found: on PATH: install Node.js 18 or later (with npm) and tar" >&2
        exit 1
    fi
done

# Node.js 18 is the supported minimum; the script was run with Node.js 20.
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
    echo "$program: Node.js too old: on version $(node --version): install Node.js 18 or later" >&2
    exit 1
fi

exec node "$here/build-emoji-dataset.js" "$@"
