"""reportgen: datasets in, sourced and compliance-checked research notes out."""

__version__ = "0.1.0"
