"""kb: turns YAML study records into an evidence-summary website.

Pipeline, one module per stage: load -> validate (schema + vocabulary) -> link -> references -> render -> build.
"""

__version__ = "0.1.0"
