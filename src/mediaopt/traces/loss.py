"""Loss processes a :class:`mediaopt.Link` applies to packets as they are offered.

A plain probability gives independent (Bernoulli) loss, as ``mm-loss`` does. These classes
describe correlated loss; the link runs them in the core with its own seeded PRNG.
"""

from __future__ import annotations

from dataclasses import dataclass

from mediaopt._validate import check_float
from mediaopt.errors import InputError

#: Shortest nonzero mean on or off period (s): one millisecond, Mahimahi's unit.
MIN_PERIOD_S = 0.001
#: Longest mean period (s): 10⁶ s (11.6 days), below the core's 2³⁰ ms cap.
MAX_PERIOD_S = 1e6


@dataclass(frozen=True)
class GilbertElliott:
    """Gilbert–Elliott bursty loss: a two-state Markov chain stepped once per offered packet.

    At each packet the chain first moves (good -> bad with ``p_good_bad``, bad -> good with
    ``p_bad_good``), then the packet is lost with ``loss_good`` or ``loss_bad`` according to
    the new state. The chain starts in the good state.
    """

    p_good_bad: float
    p_bad_good: float
    loss_good: float = 0.0
    loss_bad: float = 1.0

    def __post_init__(self) -> None:
        for name in ("p_good_bad", "p_bad_good", "loss_good", "loss_bad"):
            check_float(name, getattr(self, name), min_value=0.0, max_value=1.0)
        if self.p_good_bad + self.p_bad_good <= 0:
            raise InputError("p_good_bad and p_bad_good cannot both be 0")

    @classmethod
    def from_burst(cls, mean_loss: float, mean_burst_packets: float) -> GilbertElliott:
        """Build the simple Gilbert model (all lost in bad) from a mean loss and burst length."""
        check_float("mean_loss", mean_loss, min_value=0.0, max_value=0.999)
        check_float("mean_burst_packets", mean_burst_packets, min_value=1.0)
        p_bg = 1.0 / mean_burst_packets
        # stationary bad share pi_b = p_gb / (p_gb + p_bg) = mean_loss
        p_gb = mean_loss * p_bg / (1.0 - mean_loss) if mean_loss > 0 else 0.0
        return cls(min(p_gb, 1.0), p_bg, 0.0, 1.0)

    @property
    def mean_loss(self) -> float:
        """Long-run share of packets lost."""
        pi_bad = self.p_good_bad / (self.p_good_bad + self.p_bad_good)
        return pi_bad * self.loss_bad + (1.0 - pi_bad) * self.loss_good


@dataclass(frozen=True)
class OnOffLoss:
    """Outages as ``mm-onoff``: the link is on, then off, with exponential period lengths.

    While off every offered packet is lost. Periods are whole milliseconds (Mahimahi
    truncates them); the link is on from time zero. ``periodic=True`` uses fixed periods
    (Mahimahi's ``PeriodicSwitchingLink``) instead of exponential ones.
    """

    mean_on_s: float
    mean_off_s: float
    periodic: bool = False

    def __post_init__(self) -> None:
        for name in ("mean_on_s", "mean_off_s"):
            v = check_float(name, getattr(self, name), min_value=0.0, max_value=MAX_PERIOD_S)
            # Mahimahi counts periods in whole milliseconds: a shorter nonzero mean would
            # make (nearly) every period 0 ms long, and the link would switch without end
            if 0 < v < MIN_PERIOD_S:
                raise InputError(
                    f"{name}: {v!r} s rounds to 0 ms; periods are whole milliseconds, so a "
                    f"nonzero mean must be at least {MIN_PERIOD_S} s"
                )
        if self.mean_on_s == 0 and self.mean_off_s == 0:
            raise InputError("mean_on_s and mean_off_s cannot both be 0 (as mm-onoff)")
        if not isinstance(self.periodic, bool):
            raise InputError(f"periodic: expected True or False, got {self.periodic!r}")

    @property
    def mean_loss(self) -> float:
        """Long-run share of time the link is off."""
        return self.mean_off_s / (self.mean_on_s + self.mean_off_s)


LossModel = GilbertElliott | OnOffLoss
