"""The registries, one per kind of component; plugins use the entry-point group ``imggen.<kind>``."""

from imggen.registry.registry import Registry

generators = Registry("generators", lister="imggen.list_models()")
discriminators = Registry("discriminators")
losses = Registry("losses")
trainers = Registry("trainers")
feature_extractors = Registry("feature_extractors")

REGISTRIES: dict[str, Registry] = {
    r.kind: r for r in (generators, discriminators, losses, trainers, feature_extractors)
}
