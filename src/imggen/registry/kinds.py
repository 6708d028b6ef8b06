"""The registries, one per kind of component; plugins use the entry-point group ``imggen.<kind>``.

Each names the modules that register its built-ins; they are imported on the registry's first lookup, not here, so
importing imggen (or running ``imggen --help``) does not import torch.
"""

from imggen.registry.registry import Registry

generators = Registry("generators", lister="imggen.list_models()", builtins=["imggen.models"])
discriminators = Registry("discriminators", builtins=["imggen.models"])
losses = Registry("losses", builtins=["imggen.losses"])
trainers = Registry("trainers", builtins=["imggen.train"])
feature_extractors = Registry("feature_extractors", builtins=["imggen.metrics"])

REGISTRIES: dict[str, Registry] = {
    r.kind: r for r in (generators, discriminators, losses, trainers, feature_extractors)
}
