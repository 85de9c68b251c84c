"""A stand-in for a kubelet: Pods become local processes (test infrastructure only, never
imported by Hatchway).

Binds pending Pods to one Node, runs each container through `launch.py` in the Pod's network
namespace on the node's bridge and in a mount namespace of its own (an overlay of the host's
root as the image, the Pod's volumes at their real paths, the Pod's uid), runs probes and
lifecycle hooks, restarts containers per restartPolicy, stops them with the grace period, and
reports Pod status so kube-controller-manager builds real EndpointSlices.
"""
