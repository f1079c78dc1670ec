"""The lab device's init: PID 1 of the device's own PID namespace.

Runs as a standalone script on the host's /usr/bin/python3 with the standard library only,
because the device's private /root may hide the virtualenv the app runs from. It refuses to
run unless it is PID 1 of a PID namespace other than the host's, because only there a
reboot(2) ends just this init. The supervisor on the host reads the signal that ended it:
SIGHUP for a reboot, SIGINT for a power-off.

Usage: python3 -I init.py CONFIG_JSON
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
WIREGUARD_USERSPACE_ENV = "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD"


def log(message):
    sys.stderr.write(f"lab-init: {message}\n")
    sys.stderr.flush()


def check_isolated(host_pid_ns):
    own = os.readlink("/proc/self/ns/pid")
    if os.getpid() != 1 or own == host_pid_ns:
        log(f"refusing to start: not PID 1 of a PID namespace of its own ({own})")
        sys.exit(3)


def mount(fstype, source, target, options=None):
    argv = ["mount", "-t", fstype, source, target]
    if options:
        argv[1:1] = ["-o", options]
    subprocess.run(argv, check=True)


def bind(source, target):
    os.makedirs(source, exist_ok=True)
    os.makedirs(target, exist_ok=True)
    subprocess.run(["mount", "--bind", source, target], check=True)


def prepare_filesystem(config):
    # Sysfs must be mounted again so that /sys/class/net shows this network namespace.
    mount("sysfs", "sysfs", "/sys")
    mount("tmpfs", "tmpfs", "/run", "mode=0755,nosuid,nodev")
    mount("tmpfs", "tmpfs", "/tmp", "mode=1777,nosuid,nodev")
    for directory in ("/run/sshd", "/run/wireguard", "/run/lock"):
        os.makedirs(directory, exist_ok=True)
    os.chmod("/run/sshd", 0o755)
    for target, layer in sorted(config["overlays"].items()):
        # Copy-on-write over the host's directory: the device reads the host's files, and
        # whatever it changes (users, passwords, network configuration) stays its own.
        os.makedirs(layer["upper"], exist_ok=True)
        os.makedirs(layer["work"], exist_ok=True)
        options = f"lowerdir={target},upperdir={layer['upper']},workdir={layer['work']}"
        mount("overlay", "overlay", target, options)
    for target, source in sorted(config["binds"].items()):
        bind(source, target)
    write_name_service_files(config["hostname"])


def write_name_service_files(hostname):
    """Give the device its own /etc/hosts and a resolver that queries no server outside it.

    The host's resolv.conf names the host's DNS servers, which lab devices must never
    query. Without a nameserver line the resolver only tries the device's own loopback.
    """
    replace_file("/etc/hosts", f"127.0.0.1 localhost\n127.0.1.1 {hostname}\n"
                 "::1 localhost ip6-localhost ip6-loopback\n")
    replace_file("/etc/resolv.conf", "# Lab devices have no DNS server: names come from "
                 "/etc/hosts.\noptions timeout:1 attempts:1\n")


def replace_file(path, text):
    # Removing first replaces a symbolic link (as systemd-resolved makes) instead of
    # writing through it.
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
    with open(path, "w") as handle:
        handle.write(text)


def start_sshd(config):
    env = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8", WIREGUARD_USERSPACE_ENV: "1"}
    with open(config["sshd_log"], "ab") as log_file:
        return subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", config["sshd_config"]],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            env=env,
            cwd="/",
        )


# Names listed here are brought up with wg-quick at boot: without systemd there is no
# wg-quick@NAME unit to enable.
WG_QUICK_ENABLED = "/etc/mudmap/wg-quick-enabled"
BOOT_STEP_TIMEOUT = 60


def run_boot_step(argv):
    """Run one boot command, logging its outcome; a failed step does not stop the boot."""
    env = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8", WIREGUARD_USERSPACE_ENV: "1"}
    log("boot: " + " ".join(argv))
    try:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                env=env, cwd="/", timeout=BOOT_STEP_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as error:
        log(f"boot: {argv[0]} failed: {error}")
        return
    for line in (result.stdout + result.stderr).splitlines():
        log(f"boot:   {line}")
    log(f"boot: {' '.join(argv)} exited with status {result.returncode}")


def bring_up_network():
    """Bring up persisted interfaces as a Debian boot would: ifupdown, then wg-quick."""
    if os.path.exists("/etc/network/interfaces"):
        os.makedirs("/run/network", exist_ok=True)
        run_boot_step(["ifup", "-a"])
    try:
        with open(WG_QUICK_ENABLED) as handle:
            names = [line.strip() for line in handle if line.strip()]
    except FileNotFoundError:
        names = []
    for name in names:
        if os.path.exists(f"/etc/wireguard/{name}.conf"):
            run_boot_step(["wg-quick", "up", name])
        else:
            log(f"boot: {name} is enabled but /etc/wireguard/{name}.conf is missing")


def stop_everything():
    try:
        os.kill(-1, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not reap_all():
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(-1, signal.SIGKILL)


def reap_all():
    """Reap every exited child; return False once no child is left."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def main():
    with open(sys.argv[1]) as handle:
        config = json.load(handle)
    check_isolated(config["host_pid_ns"])
    socket.sethostname(config["hostname"])
    prepare_filesystem(config)
    bring_up_network()
    start_sshd(config)
    log(f"{config['hostname']} booted")

    stopping = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    while not stopping:
        # The zombie-reaping duty of every init: orphans of this namespace land here.
        reap_all()
        time.sleep(0.2)
    log("stopping on request")
    stop_everything()
    return 0


if __name__ == "__main__":
    sys.exit(main())
