"""Developer tools, outside the product package: the synthetic front-matter generator, the
loopback OpenAI-compatible fake server, the simulation harness and data build scripts.

The library (``extractor``) never imports this package; tests, benchmarks and the
``collabscope simulate`` command do.
"""
