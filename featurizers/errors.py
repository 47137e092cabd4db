"""The one error type of the featurizer package."""


class FeaturizerError(ValueError):
    """A featurizer reference or result that cannot be used; the message names it and why."""
