"""The topologies an environment can choose, one folder each (``single_node/``, ``eks/``), registered once in
:mod:`rudder_ha.topologies.registry`. The CLI, the synthesis, the Pulumi program and the configuration
loader ask the registry what a topology builds and which settings it reads; nothing else compares a
topology's name."""
