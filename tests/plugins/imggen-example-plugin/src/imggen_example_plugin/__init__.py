"""An example third-party imggen plugin: a tiny generator, discriminator, loss and training part.

It shows the whole plugin story in a few lines: entry points in ``pyproject.toml`` (group ``imggen.<kind>``,
name = registry name, value = factory) and metadata attached with :func:`imggen.registry.spec`.
Importing this package imports nothing heavy; the entry points name the submodules directly.
"""
