"""Receiving kie.ai's task callbacks: verification, the ASGI receiver, the hub and serving.

The modules are imported one by one (``kieframe/__init__.py`` re-exports the public names): the
clients import only :mod:`._hub`, and :mod:`._receiver` imports the clients.
"""
