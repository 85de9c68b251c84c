"""A stand-in for a kubelet, for the conformance run: Pods become local processes.

Test infrastructure only (never imported by Hatchway): binds pending Pods to one fake Node,
starts each container as a process in its own network namespace on a private subnet, and
reports Pod status so kube-controller-manager builds real EndpointSlices.
"""
