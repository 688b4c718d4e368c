"""LightningModules, one model a file; plain ``nn.Module`` networks live in ``lightning_modules.nets``
and import no Lightning. A module registers itself by defining ``name`` and ``Config`` (see genlab.runner.registry).
"""
