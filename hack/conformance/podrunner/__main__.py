"""`python -m podrunner --kubeconfig F --echo-binary B`: run Pods until SIGTERM."""

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
from podrunner.network import Bridge
from podrunner.runner import PodRunner


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="podrunner")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--echo-binary", required=True)
    p.add_argument("--state", default="/tmp/hwconf-pods")
    p.add_argument("--subnet", default="10.244.0.0/16")
    p.add_argument("--node", default="hatchway-conformance-node")
    p.add_argument("--kubelet-port", type=int, default=10250)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)

    state = Path(args.state)
    state.mkdir(parents=True, exist_ok=True)
    client = Client(KubeConfig.from_file(args.kubeconfig), field_manager="hatchway-podrunner")
    bridge = Bridge(args.subnet)
    bridge.up()
    runner = PodRunner(client, bridge, args.node, state, args.echo_binary)
    server = kubelet.serve(bridge.gateway, args.kubelet_port, state, runner.log_path)
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
        runner.stop_all()
        runner.delete_node()
        bridge.down()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
