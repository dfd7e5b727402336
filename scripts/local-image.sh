#!/usr/bin/env bash
# Builds the scheduler's image (and a Redis image) on a machine that cannot reach a registry:
# no `FROM`, nothing pulled. Each image is a root filesystem assembled here from files of this
# machine (the release binaries, every shared library `ldd` names for them, the dynamic loader)
# and loaded with `docker import`. The Dockerfile is the route when a registry is reachable.
#
#   swift build -c release
#   scripts/local-image.sh --docker-host unix:///var/run/docker.sock --tag mimic-scheduler:local
#   mimicctl compose --image mimic-scheduler:local --redis-image mimic-redis:local ...
#
# The libraries are this machine's, so the image runs the binaries exactly as they run here; it
# is only as portable as that (same architecture; any kernel Docker runs on).
set -euo pipefail

usage() {
    cat <<'EOF'
usage: scripts/local-image.sh [options]

  --bin-dir DIR        the release binaries (default: $MIMIC_BIN_DIR, else .build/release)
  --docker-host URL    the Engine to import into (default: $DOCKER_HOST, else docker's default)
  --tag TAG            the scheduler image (default: mimic-scheduler:latest, what
                       `mimicctl compose` names unless --image)
  --redis-tag TAG      the Redis image from /usr/bin/redis-server and redis-cli
                       (default: mimic-redis:local; pass it to `mimicctl compose --redis-image`)
  --no-redis           build only the scheduler image
  --busybox FILE       add FILE (a busybox, e.g. busybox-static's /bin/busybox) as /bin/sh and a
                       few tools (kill, ps, ls, cat...): command-driver hooks written as shell
                       scripts and `docker exec ... sh` need one; without it the image has no shell
  --strip              strip debug info from the copied binaries (about 230 MB less; crash
                       backtraces then name functions but not source lines)

Needs docker (the CLI), ldd and GNU tar. Prints the image ids.
EOF
}

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${MIMIC_BIN_DIR:-$root_dir/.build/release}"
docker_host="${DOCKER_HOST:-}"
tag="mimic-scheduler:latest"
redis_tag="mimic-redis:local"
with_redis=1
busybox=""
strip_binaries=0

while [ $# -gt 0 ]; do
    case "$1" in
        --bin-dir) bin_dir="$2"; shift 2 ;;
        --docker-host) docker_host="$2"; shift 2 ;;
        --tag) tag="$2"; shift 2 ;;
        --redis-tag) redis_tag="$2"; shift 2 ;;
        --no-redis) with_redis=0; shift ;;
        --busybox) busybox="$2"; shift 2 ;;
        --strip) strip_binaries=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "local-image.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

fail() { echo "local-image.sh: $*" >&2; exit 1; }

docker_cli=(docker)
[ -n "$docker_host" ] && docker_cli+=(-H "$docker_host")

for binary in mimic-listener mimic-worker mimicctl; do
    [ -x "$bin_dir/$binary" ] || fail "$bin_dir/$binary not found: run swift build -c release (or pass --bin-dir)"
done
# The listener looks for its page files next to its own executable.
resources="$bin_dir/mimic-scheduler_Listener.resources"
[ -d "$resources" ] || fail "$resources not found: the listener's page files come with the release build"
if [ "$with_redis" = 1 ]; then
    for binary in /usr/bin/redis-server /usr/bin/redis-cli; do
        [ -x "$binary" ] || fail "$binary not found: install redis-server and redis-tools, or pass --no-redis"
    done
fi
[ -z "$busybox" ] || [ -x "$busybox" ] || fail "--busybox $busybox: not an executable"

work="$(mktemp -d "${TMPDIR:-/tmp}/mimic-image.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Copies FILE to the same absolute path under ROOT, following symlinks: the loader and RUNPATH
# find the libraries where they are on this machine, so no ld.so.cache or path rewriting is needed.
copy_to() { # root file [target]
    local target="$1${3:-$2}"
    mkdir -p "$(dirname "$target")"
    cp -L --preserve=mode "$2" "$target"
}

# Every shared library ldd resolves for BINARY, and its dynamic loader (the line without "=>").
# A library ldd cannot find fails the build here rather than the container at its start.
copy_libraries() { # root binary
    local output line path
    output="$(ldd "$2" 2>&1)" || {
        # A static executable (busybox-static) needs nothing.
        grep -q "not a dynamic executable" <<<"$output" && return 0
        fail "ldd $2: $output"
    }
    if grep -q "not found" <<<"$output"; then
        fail "ldd $2: $(grep "not found" <<<"$output" | tr -s ' \t' ' ')"
    fi
    while read -r line; do
        case "$line" in
            *"=> /"*) path="${line#*=> }"; path="${path%% (*}" ;;
            /*) path="${line%% (*}" ;;
            *) continue ;;
        esac
        [ -e "$1$path" ] || copy_to "$1" "$path"
    done <<<"$output"
}

# /tmp is world-writable with the sticky bit, as on any system: hooks and libraries write there.
base_dirs() { # root
    mkdir -p "$1/tmp" "$1/etc"
    chmod 1777 "$1/tmp"
    [ -f /etc/ssl/certs/ca-certificates.crt ] && copy_to "$1" /etc/ssl/certs/ca-certificates.crt
    return 0
}

add_busybox() { # root
    copy_to "$1" "$busybox" /bin/busybox
    copy_libraries "$1" "$busybox"
    local applet
    for applet in sh ls cat ps kill pidof sleep echo mkdir rm touch id env top; do
        ln -sf busybox "$1/bin/$applet"
    done
}

# Packs ROOT owned by root, except the paths in OWNED (owned by UID), so the image is right
# whoever runs this script: named volumes mounted there start with that ownership.
import_rootfs() { # root tag uid owned-paths changes...
    local root="$1" tag="$2" uid="$3" owned="$4"
    shift 4
    local tarball="$work/rootfs.tar" excludes=() path
    for path in $owned; do excludes+=(--exclude="./$path"); done
    tar -C "$root" --numeric-owner --owner=0 --group=0 "${excludes[@]}" -cf "$tarball" .
    # shellcheck disable=SC2086 # the owned paths are one word each
    tar -C "$root" --numeric-owner --owner="$uid" --group="$uid" -rf "$tarball" $(for path in $owned; do echo "./$path"; done)
    local changes=() change
    for change in "$@"; do changes+=(--change "$change"); done
    "${docker_cli[@]}" import "${changes[@]}" "$tarball" "$tag" >/dev/null
    rm -f "$tarball"
    echo "$tag $("${docker_cli[@]}" image inspect --format '{{.Id}}' "$tag")"
}

path_env='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

# The scheduler: the same layout as the Dockerfile's runtime stage (binaries and the listener's
# resource bundle in /usr/local/bin, user mimic uid 10000 group 10000, the run dir 1770 (the
# workers, uid 10100 + db in group 10000, create their sockets there; the sticky bit keeps each
# one's socket its own), the journal dir 0700, the apps dir).
scheduler="$work/scheduler"
mkdir -p "$scheduler/usr/local/bin" "$scheduler/run/mimic" "$scheduler/var/lib/mimic/journal" \
    "$scheduler/etc/mimic/apps.d" "$scheduler/usr/share/mimic"
base_dirs "$scheduler"
for binary in mimic-listener mimic-worker mimicctl; do
    cp --preserve=mode "$bin_dir/$binary" "$scheduler/usr/local/bin/"
    [ "$strip_binaries" = 1 ] && strip --strip-debug "$scheduler/usr/local/bin/$binary"
    copy_libraries "$scheduler" "$bin_dir/$binary"
done
cp -R "$resources" "$scheduler/usr/local/bin/"
cp -R "$root_dir/compose-templates" "$scheduler/usr/share/mimic/"
[ -n "$busybox" ] && add_busybox "$scheduler"
cat >"$scheduler/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
mimic:x:10000:10000:mimic scheduler:/var/lib/mimic:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$scheduler/etc/group" <<'EOF'
root:x:0:
mimic:x:10000:
nogroup:x:65534:
EOF
# Nothing below run/mimic: Docker copies a mount point's content into a new volume once per
# container being created, and two workers created at once then race on the same subdirectory.
chmod 1770 "$scheduler/run/mimic"
chmod 0700 "$scheduler/var/lib/mimic/journal"
import_rootfs "$scheduler" "$tag" 10000 "run/mimic var/lib/mimic" \
    "$path_env" 'USER mimic' 'WORKDIR /var/lib/mimic' 'CMD ["mimic-listener", "--help"]'

if [ "$with_redis" = 1 ]; then
    # Redis as the official image runs it: user redis, its files in /data (the fleet's volume).
    redis="$work/redis"
    mkdir -p "$redis/data"
    base_dirs "$redis"
    for binary in /usr/bin/redis-server /usr/bin/redis-cli; do
        copy_to "$redis" "$binary"
        copy_libraries "$redis" "$binary"
    done
    cat >"$redis/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
redis:x:999:999:redis:/data:/usr/sbin/nologin
EOF
    printf 'root:x:0:\nredis:x:999:\n' >"$redis/etc/group"
    import_rootfs "$redis" "$redis_tag" 999 "data" \
        "$path_env" 'USER redis' 'WORKDIR /data' 'CMD ["redis-server"]'
fi
