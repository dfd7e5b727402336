#!/usr/bin/env bash
# The demo's Docker Engines (`MIMIC_DEMO_DRIVER=docker make run`): one real dockerd per demo host,
# each with its own data root, exec root and unix socket under the demo directory, no bridge, no
# iptables rules, containers on the host network listening on 127.0.0.1 ports. Nothing is pulled:
# the executor image is imported from a root filesystem made of this machine's python3 and
# examples/executor/variant_server.py. Needs root (dockerd does) and Debian's docker.io.
#
#   demo-engines.sh start HOST DIR   start HOST's engine (again, on the same data root) and wait for it
#   demo-engines.sh image HOST DIR   import the executor image into HOST's engine
#   demo-engines.sh crash HOST DIR   kill -9 HOST's containers, dockerd and containerd (a host crash)
#   demo-engines.sh stop HOST DIR    remove HOST's containers, stop its engine, unmount what it left
#
# DIR is the demo directory (MIMIC_DEMO_DIR); HOST's files are under DIR/docker/HOST.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -eq 3 ] || { echo "usage: demo-engines.sh start|image|crash|stop HOST DIR" >&2; exit 2; }
action="$1" host="$2" dir="$3/docker/$2"
mkdir -p "$dir"
socket="$dir/docker.sock"
image="mimic-demo/executor:local"

docker_() { docker -H "unix://$socket" "$@"; }

# containerd's socket lives under the exec root, and a unix socket path must fit in 108 bytes:
# the exec root is a short directory under /tmp, remembered next to the data root.
exec_root() {
    if [ ! -s "$dir/exec-root" ]; then mktemp -d /tmp/mimic-dx-XXXXXX >"$dir/exec-root"; fi
    cat "$dir/exec-root"
}

# PIDs of processes whose command line names this engine's exec root or data root (its
# containerd and the containers' shims).
engine_processes() {
    local exec file
    exec="$(exec_root)"
    for file in /proc/[0-9]*; do
        case "$({ tr '\0' ' ' <"$file/cmdline"; } 2>/dev/null)" in
            *"$exec"* | *"$dir/data"*) echo "${file#/proc/}" ;;
        esac
    done
}

unmount_all() {
    local prefix point
    for prefix in "$(exec_root)" "$dir"; do
        for _ in 1 2 3; do
            awk -v p="$prefix" '$5 == p || index($5, p "/") == 1 { print length($5) " " $5 }' /proc/self/mountinfo \
                | sort -rn | cut -d' ' -f2- | while read -r point; do umount -l "$point" 2>/dev/null || true; done
        done
    done
}

case "$action" in
start)
    command -v dockerd >/dev/null || { echo "demo-engines: dockerd not found; apt-get install -y docker.io" >&2; exit 2; }
    [ "$(id -u)" = 0 ] || { echo "demo-engines: dockerd needs root; run MIMIC_DEMO_DRIVER=docker make run as root" >&2; exit 2; }
    (setsid dockerd --data-root "$dir/data" --exec-root "$(exec_root)" --pidfile "$dir/dockerd.pid" \
        -H "unix://$socket" --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
        --userland-proxy=false --log-level=warn >>"$dir/dockerd.log" 2>&1 &)
    for _ in $(seq 1 300); do
        docker_ version --format '{{.Server.Version}}' >/dev/null 2>&1 && exit 0
        sleep 0.1
    done
    echo "demo-engines: the engine of $host did not start; see $dir/dockerd.log" >&2
    tail -5 "$dir/dockerd.log" >&2
    exit 1
    ;;
image)
    # python3 from this machine with the libraries it links and its standard library (without
    # what a stand-in web server never imports), and the stand-in executor itself.
    rootfs="$dir/rootfs"
    rm -rf "$rootfs"
    mkdir -p "$rootfs/usr/bin" "$rootfs/srv" "$rootfs/tmp" "$rootfs/etc"
    python="$(readlink -f /usr/bin/python3)"
    cp "$python" "$rootfs/usr/bin/python3"
    for lib in $(ldd "$python" | awk '/=>/ { print $3 } /^\t\// { print $1 }'); do
        mkdir -p "$rootfs$(dirname "$lib")"
        cp -L "$lib" "$rootfs$lib"
    done
    stdlib="/usr/lib/$(basename "$python")"
    mkdir -p "$rootfs/usr/lib"
    tar -C /usr/lib --exclude='__pycache__' --exclude='test' --exclude='idlelib' --exclude='tkinter' \
        --exclude='ensurepip' --exclude='lib2to3' --exclude='config-*' --exclude='site-packages' \
        --exclude='dist-packages' -cf - "$(basename "$stdlib")" | tar -C "$rootfs/usr/lib" -xf -
    cp "$root/examples/executor/variant_server.py" "$rootfs/srv/variant_server.py"
    echo "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin" >"$rootfs/etc/passwd"
    tar -C "$rootfs" -cf "$dir/rootfs.tar" .
    rm -rf "$rootfs"
    docker_ import --change 'CMD ["/usr/bin/python3", "/srv/variant_server.py"]' --change 'USER 65534' \
        "$dir/rootfs.tar" "$image" >/dev/null
    rm -f "$dir/rootfs.tar"
    ;;
crash)
    # What a crashed machine looks like: its executors die with it (kill -9), then the engine.
    ids="$(docker_ ps -q 2>/dev/null || true)"
    [ -z "$ids" ] || docker_ kill -s KILL $ids >/dev/null 2>&1 || true
    [ -s "$dir/dockerd.pid" ] && kill -9 "$(cat "$dir/dockerd.pid")" 2>/dev/null || true
    for pid in $(engine_processes); do kill -9 "$pid" 2>/dev/null || true; done
    rm -f "$dir/dockerd.pid" "$socket"
    unmount_all
    ;;
stop)
    if [ -S "$socket" ]; then
        ids="$(docker_ ps -aq 2>/dev/null || true)"
        [ -z "$ids" ] || docker_ rm -f -v $ids >/dev/null 2>&1 || true
    fi
    if [ -s "$dir/dockerd.pid" ]; then
        pid="$(cat "$dir/dockerd.pid")"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    for pid in $(engine_processes); do kill -9 "$pid" 2>/dev/null || true; done
    unmount_all
    exec="$(exec_root)"
    rm -rf "$exec" "$dir/exec-root"
    ;;
*)
    echo "demo-engines: unknown action $action (start, image, crash, stop)" >&2
    exit 2
    ;;
esac
