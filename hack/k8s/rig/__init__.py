"""The cluster rig's own node-side services (test infrastructure, never imported by Hatchway).

`apirelay`: the API server's address as seen from the node network (the `kubernetes` Service's
endpoint); `lb`: the rig's load-balancer allocator (its cloud provider).
"""
