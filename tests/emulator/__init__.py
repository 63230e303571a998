"""Tests of the kie.ai emulator (``kieframe.testing._emulator``), over real loopback sockets."""
