"""The one error type of the featurizer package."""

from candidates.errors import UserError


class FeaturizerError(UserError):
    """A featurizer reference or result that cannot be used; the message names it and why."""
