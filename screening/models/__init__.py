"""Training data, descriptors, fitted models and their on-disk cache for the proxy scorers."""
