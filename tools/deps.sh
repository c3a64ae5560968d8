#!/bin/sh
# Checks the build dependencies; installs the missing Debian packages when run as
# root, otherwise prints the apt-get line that would install them.
set -u

missing=""
need() { # need PACKAGE CHECK-COMMAND...
    pkg=$1; shift
    "$@" >/dev/null 2>&1 || missing="$missing $pkg"
}

need gcc command -v cc
need make command -v make
need pkg-config command -v pkg-config
multiarch=$(cc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
need libopenblas-openmp-dev test -f "/usr/lib/$multiarch/openblas-openmp/pkgconfig/openblas.pc"
need libpng-dev pkg-config --exists libpng
need libzstd-dev pkg-config --exists libzstd
need libjansson-dev pkg-config --exists jansson
need libutf8proc-dev pkg-config --exists libutf8proc
need zlib1g-dev pkg-config --exists zlib
need bats command -v bats
need nodejs command -v node
need zsh command -v zsh
need zstd command -v zstd

[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq $missing >/dev/null || {
        echo "deps: apt-get install failed:$missing" >&2
        exit 1
    }
    exit 0
fi

echo "deps: missing Debian packages:$missing" >&2
echo "deps: install them with: sudo apt-get install$missing" >&2
exit 1
