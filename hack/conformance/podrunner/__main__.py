"""`python -m podrunner --kubeconfig F --node-netns NS --netns-prefix P --subnet CIDR
--node-ip IP`: run the Pods bound to one Node until SIGTERM (hack/k8s/up.sh starts it)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from lightkube import Client, KubeConfig

from podrunner import kubelet
from podrunner.images import Catalog
from podrunner.network import Bridge
from podrunner.runner import PodRunner

REPO = Path(__file__).resolve().parents[3]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="podrunner")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--echo-binary", help="the echo-basic build (hack/conformance/build.sh)")
    p.add_argument("--state", default="/tmp/hatchway-pods")
    p.add_argument("--subnet", required=True, help="the Pod subnet on the node's bridge")
    p.add_argument("--node-netns", required=True, help="the node's network namespace")
    p.add_argument("--netns-prefix", required=True, help="prefix of the Pods' namespaces")
    p.add_argument("--node-ip", required=True, help="the Node's InternalIP: kubelet endpoint")
    p.add_argument("--node", default="hatchway-rig-node")
    p.add_argument("--dns", help="the cluster DNS server Pods' resolv.conf names (rig/dns.py)")
    p.add_argument("--kubelet-port", type=int, default=10250)
    p.add_argument("--repo", type=Path, default=REPO, help="whose .venv the hatchway image runs")
    p.add_argument(
        "--backoff",
        type=float,
        nargs=2,
        default=(1.0, 60.0),
        metavar=("FIRST", "MAX"),
        help="restart back-off in seconds (doubling from FIRST up to MAX)",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)

    state = Path(args.state)
    state.mkdir(parents=True, exist_ok=True)
    client = Client(KubeConfig.from_file(args.kubeconfig), field_manager="hatchway-podrunner")
    bridge = Bridge(args.subnet, args.node_netns, args.netns_prefix)
    bridge.up()
    catalog = Catalog(args.repo, args.echo_binary)
    runner = PodRunner(
        client,
        bridge,
        args.node,
        args.node_ip,
        state=state,
        catalog=catalog,
        backoff=tuple(args.backoff),
        dns=args.dns,
    )
    server = kubelet.serve(args.node_ip, args.kubelet_port, state, runner.log_path)
    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()  # only a flag: the loop notices it between two ticks

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        runner.register_node(args.kubelet_port)
        runner.run(stop)
    finally:
        server.server_close()
        runner.stop_all()  # the Node stays, as a kubelet's does (kube-proxy watches it)
        bridge.down()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
