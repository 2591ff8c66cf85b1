#!/usr/bin/env bash
# Assembles the two base images the Dockerfile's build arguments can name, from this machine's own files, for a
# machine that cannot pull the published ones (no registry reachable): the runtime base, distroless-style (the
# node binary at distroless's /nodejs/bin/node, the shared libraries `ldd` lists, /etc/passwd with nonroot 65532,
# no shell), and the deps base (the same node, npm, and busybox for the stage's RUN). Imported with `podman import`.
# Usage: image-bases.sh RUNTIME_TAG DEPS_TAG      Needs: podman, busybox (busybox-static), ldd.
set -euo pipefail
runtime_tag=$1 deps_tag=$2
node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

libs() { # the node binary, its libraries and the loader, at their own paths under $1
  mkdir -p "$1/nodejs/bin" "$1/tmp" "$1/etc"
  cp "$node_bin" "$1/nodejs/bin/node"
  ldd "$node_bin" | grep -o '/[^ ]*' | while read -r lib; do
    mkdir -p "$1$(dirname "$lib")" && cp -L "$lib" "$1$lib"
  done
  chmod 1777 "$1/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$1/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$1/etc/group"
}

libs "$work/runtime"
tar -C "$work/runtime" -c . | podman import --change 'USER 65532:65532' - "$runtime_tag" >/dev/null

libs "$work/deps"
mkdir -p "$work/deps/bin" "$work/deps/usr/local/bin" "$work/deps/usr/local/lib/node_modules" "$work/deps/usr/bin" "$work/deps/root"
cp "$(readlink -f "$(command -v busybox)")" "$work/deps/bin/busybox"
for tool in sh env rm mkdir cp ls cat; do ln -s busybox "$work/deps/bin/$tool"; done
ln -s /bin/busybox "$work/deps/usr/bin/env"
ln -s /nodejs/bin/node "$work/deps/usr/local/bin/node"
cp -r "$npm_dir" "$work/deps/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/deps/usr/local/bin/npm"
tar -C "$work/deps" -c . | podman import --change 'ENV PATH=/usr/local/bin:/bin:/usr/bin' - "$deps_tag" >/dev/null
echo "$runtime_tag $deps_tag"
