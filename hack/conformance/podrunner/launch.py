"""Start a container process: `python launch.py SPEC.json` ends by exec'ing the container's argv.

Run by the pod runner for each container start (and, with `join`, for exec hooks and probes).
Stdlib only, single-threaded, so the namespace calls are safe. For a new container it:
1. joins the Pod's network namespace and unshares a mount and a UTS namespace (every mount below
   exists only there: nothing is left on the host when the container's processes are gone);
2. builds the container's root: an overlay whose lower layer is the host's root (the "image":
   the host holds the programs the emulated images run) and whose upper layer is a private tmpfs
   (empty /tmp and /run, /etc/hosts, /etc/hostname, /etc/resolv.conf naming the cluster DNS),
   with /proc, /dev and /sys bound in;
3. chroots into it and bind-mounts each volume at its real container path (read-only when the
   mount says so); then remounts the root read-only for `readOnlyRootFilesystem: true`;
4. drops to the Pod's uid/gid/groups (no_new_privs when privilege escalation is not allowed) and
   execs argv in workingDir with exactly the given environment.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import stat
import sys
import warnings  # noqa: F401  (os.execvpe imports it late: after setuid it may be out of reach)

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 32, 4096, 16384
MS_PRIVATE = 1 << 18
PR_SET_NO_NEW_PRIVS = 38

_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    rc = _libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data))
    _check(rc, f"mount {source} on {target}")


def setns(path: str, kind: int) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.setns(fd, kind), f"setns {path}")
    finally:
        os.close(fd)


def _build_root(spec: dict) -> None:
    rootfs, layer = spec["rootfs"], spec["layer"]
    mount("tmpfs", layer, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    for d in ("upper", "work"):
        os.mkdir(os.path.join(layer, d), 0o755)
    # An image's /tmp and /run are empty: opaque directories of the upper layer hide the
    # host's (they stay part of the root, so read-only with it).
    for d, mode in (("tmp", 0o1777), ("run", 0o755)):
        path = os.path.join(layer, "upper", d)
        os.mkdir(path)
        os.chmod(path, mode)
        os.setxattr(path, "trusted.overlay.opaque", b"y")
    opts = f"lowerdir=/,upperdir={layer}/upper,workdir={layer}/work"
    mount("overlay", rootfs, "overlay", 0, opts)
    for d in ("proc", "dev", "sys"):
        mount(f"/{d}", f"{rootfs}/{d}", None, MS_BIND | MS_REC)


def _mkdirs(path: str) -> None:
    os.makedirs(path, mode=0o755, exist_ok=True)


def _bind_volumes(spec: dict, fds: list[int]) -> None:
    # Inside the chroot: the kernel resolves each target's symlinks (/var/run -> /run) within
    # the container's root; the sources are the descriptors opened before the chroot.
    for (_source, target, read_only), fd in zip(spec["mounts"], fds, strict=True):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            _mkdirs(target)
        else:
            _mkdirs(os.path.dirname(target))
            if not os.path.exists(target):
                open(target, "a").close()
        mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
        if read_only:
            mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def start(spec: dict) -> None:
    if spec.get("netns"):
        setns(spec["netns"], CLONE_NEWNET)
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWUTS), "unshare")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    fds = [os.open(src, os.O_PATH | os.O_CLOEXEC) for src, _t, _ro in spec["mounts"]]
    _build_root(spec)
    os.chroot(spec["rootfs"])
    os.chdir("/")
    for path in spec.get("traverse", []):
        # The emulated image's programs must be reachable for its user (on the host they may
        # sit under a 0700 /root; group bits count for gid 0); in the container's layer only.
        os.chmod(path, os.stat(path).st_mode | 0o011)
    with open("/etc/hostname", "w", encoding="utf-8") as f:
        f.write(spec["hostname"] + "\n")
    with open("/etc/hosts", "w", encoding="utf-8") as f:
        f.write(spec["hosts"])
    if spec.get("resolv"):
        with open("/etc/resolv.conf", "w", encoding="utf-8") as f:
            f.write(spec["resolv"])
    _bind_volumes(spec, fds)
    if spec.get("workdir"):
        _mkdirs(spec["workdir"])
    if spec.get("read_only_root"):
        mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    socket.sethostname(spec["hostname"])


def join(pid: int) -> None:
    """Enter a running container's namespaces and root (exec hooks, exec probes)."""
    root = os.open(f"/proc/{pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    setns(f"/proc/{pid}/ns/net", CLONE_NEWNET)
    setns(f"/proc/{pid}/ns/uts", CLONE_NEWUTS)
    setns(f"/proc/{pid}/ns/mnt", CLONE_NEWNS)
    os.fchdir(root)
    os.chroot(".")


def become(spec: dict) -> None:
    if spec.get("no_new_privs"):
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    os.setgroups(spec.get("groups", []))
    os.setgid(spec.get("gid", 0))
    os.setuid(spec.get("uid", 0))
    os.chdir(spec.get("workdir") or "/")


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    argv = spec["argv"]
    try:
        if spec.get("join"):
            join(int(spec["join"]))
        else:
            start(spec)
        become(spec)
    except OSError as exc:
        print(f"podrunner: cannot start the container: {exc}", file=sys.stderr, flush=True)
        os._exit(128)
    try:
        os.execvpe(argv[0], argv, spec["env"])
    except OSError as exc:
        print(f"podrunner: exec {argv[0]}: {exc}", file=sys.stderr, flush=True)
        os._exit(127 if isinstance(exc, FileNotFoundError) else 126)


if __name__ == "__main__":
    main()
