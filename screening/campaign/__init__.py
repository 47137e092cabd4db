"""``viglas campaign``: rounds of pick -> verify -> learn -> re-rank that let the physics tier
correct the composition tier.

- :mod:`~screening.campaign.estimate`: one MD row -> a room-temperature log10 sigma with its
  uncertainty and whether it is resolved (the seam to the MD tier's calibration);
- :mod:`~screening.campaign.learn`: a Gaussian-process correction of the conductivity model's
  predictions from those estimates, over the Hellinger composition distance;
- :mod:`~screening.campaign.pick`: eligible rows, acquisition (UCB, EI, greedy, random) and one
  pick per chemical system;
- :mod:`~screening.campaign.rounds`: the rounds, their files under ``RUN/campaign/round-NN/``
  and resumption;
- :mod:`~screening.campaign.report`: the markdown report and the tables behind it.
"""

from __future__ import annotations

from candidates.errors import UserError


class CampaignError(UserError):
    """A campaign request that cannot run: an unfinished run, bad settings, a changed run."""
