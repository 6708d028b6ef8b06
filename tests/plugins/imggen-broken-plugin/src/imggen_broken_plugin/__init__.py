"""A plugin that fails on import, on purpose: imggen must warn once and keep everything else working."""

raise RuntimeError("imggen_broken_plugin fails to import on purpose (imggen test fixture)")
