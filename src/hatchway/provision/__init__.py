"""The data plane of each Gateway as Kubernetes objects (pure): names, ports, and the desired
ServiceAccount, Deployment, PodDisruptionBudget and Service the controller applies."""

from hatchway.provision.objects import ProvisionSettings, desired_objects
from hatchway.provision.ports import ListenerPort, container_ports

__all__ = ["ListenerPort", "ProvisionSettings", "container_ports", "desired_objects"]
