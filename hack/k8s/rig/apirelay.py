"""`python -m rig.apirelay --listen IP:PORT --to 127.0.0.1:PORT --kubeconfig F`

The API server listens on loopback only; Pods and node components (kube-proxy) live in other
network namespaces. This relays TCP from an address of the host that the node network routes
to, and publishes that address as the endpoint of the `kubernetes` Service (the API server runs
with `--endpoint-reconciler-type none`), so in-cluster clients reach it through the Service's
ClusterIP and kube-proxy, as on a real cluster. TLS passes through untouched.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from lightkube import Client, KubeConfig
from lightkube.models.discovery_v1 import Endpoint, EndpointConditions, EndpointPort
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.discovery_v1 import EndpointSlice

log = logging.getLogger("apirelay")
MANAGER = "hatchway-rig"


def kubernetes_slice(address: str, port: int) -> EndpointSlice:
    return EndpointSlice(
        metadata=ObjectMeta(
            name="kubernetes",
            namespace="default",
            labels={
                "kubernetes.io/service-name": "kubernetes",
                "endpointslice.kubernetes.io/managed-by": MANAGER,
            },
        ),
        addressType="IPv4",
        endpoints=[Endpoint(addresses=[address], conditions=EndpointConditions(ready=True))],
        ports=[EndpointPort(name="https", port=port, protocol="TCP")],
    )


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()


async def serve(listen: tuple[str, int], target: tuple[str, int]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError as exc:
            log.warning("API server %s:%d unreachable: %s", *target, exc)
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(handle, *listen)
    log.info("relaying %s:%d -> %s:%d", *listen, *target)
    async with server:
        await server.serve_forever()


def _addr(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main() -> None:
    p = argparse.ArgumentParser(prog="rig.apirelay")
    p.add_argument("--listen", type=_addr, required=True)
    p.add_argument("--to", type=_addr, required=True)
    p.add_argument("--kubeconfig", required=True)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    client = Client(KubeConfig.from_file(args.kubeconfig), field_manager=MANAGER)
    client.apply(kubernetes_slice(*args.listen), force=True)
    asyncio.run(serve(args.listen, args.to))


if __name__ == "__main__":
    main()
