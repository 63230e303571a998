"""Receiving kie.ai's task callbacks: verification, the ASGI receiver, the hub and serving.

The public names are in :mod:`kieframe.callbacks`. Dependencies point one way: the receiver uses
a client to re-read records; the clients know only the hub (through the ``HubOwner`` protocol).
"""
