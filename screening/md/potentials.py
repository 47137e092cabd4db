"""Machine-learned interatomic potentials behind one small contract, found by name like featurizers.

A :class:`Potential` evaluates a *batch* of periodic cells in one call (one model pass on a GPU)
and returns energies, forces and, when asked, stresses in ASE units (eV, eV/A, eV/A^3, ASE's
sign: pressure = -trace(stress) / 3). Weights must load offline, from a local file or the
package's own wheel; nothing is fetched from a hub at run time.

A reference names a potential as a built-in (``chgnet``), an entry point in the group
``viglas.potentials``, or ``package.module:Class``; the class is called with ``device=``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from ase import Atoms, units

from featurizers.plugins import PluginKind
from screening.md import MDError

ENTRY_POINT_GROUP = "viglas.potentials"


class PotentialError(MDError):
    """A potential reference that cannot be resolved or constructed."""


@dataclass(frozen=True)
class Evaluation:
    """What a potential says about one cell."""

    energy_eV: float
    forces_eV_A: np.ndarray
    stress_eV_A3: np.ndarray | None = None


class Potential(ABC):
    """A potential for batches of cells; subclasses set ``name`` and implement two members.

    ``evaluate`` must depend on its input cells alone (no neighbour list or cache carried from
    call to call), or a run resumed from a checkpoint drifts from an uninterrupted one.
    """

    name: ClassVar[str]

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    @property
    @abstractmethod
    def version(self) -> str:
        """Package and weights version, stored with every result."""

    @abstractmethod
    def evaluate(self, cells: Sequence[Atoms], stress: bool = False) -> list[Evaluation]:
        """Energies, forces (and stresses if ``stress``) of ``cells``, in one batched pass."""


class CHGNetPotential(Potential):
    """CHGNet (Deng et al., Nat. Mach. Intell. 5, 1031 (2023), doi:10.1038/s42256-023-00716-3)
    with the pretrained weights shipped in the ``chgnet`` wheel."""

    name = "chgnet"

    def __init__(self, device: str = "cpu", model_name: str = "0.3.0") -> None:
        super().__init__(device)
        from chgnet.model import CHGNet

        # CHGNet prints a banner on construction and torch warns on every stress call; neither
        # says anything a user can act on, and in a worker's log they bury real messages.
        warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")
        with contextlib.redirect_stdout(io.StringIO()):
            self.model = CHGNet.load(model_name=model_name, use_device=device, verbose=False)
        self.model.eval()

    @property
    def version(self) -> str:
        return f"chgnet {importlib.metadata.version('chgnet')}, weights {self.model.version}"

    def evaluate(self, cells: Sequence[Atoms], stress: bool = False) -> list[Evaluation]:
        from pymatgen.io.ase import AseAtomsAdaptor

        graphs = []
        for atoms in cells:
            wrapped = atoms.copy()
            wrapped.wrap()
            graphs.append(self.model.graph_converter(AseAtomsAdaptor.get_structure(wrapped)))
        predictions = self.model.predict_graph(graphs, task="efs" if stress else "ef",
                                               batch_size=len(graphs))
        if len(graphs) == 1:
            predictions = [predictions]
        # CHGNet predicts energy per atom and stress in GPa.
        return [Evaluation(float(p["e"]) * len(atoms), np.asarray(p["f"], dtype=float),
                           np.asarray(p["s"], dtype=float) * units.GPa if stress else None)
                for p, atoms in zip(predictions, cells, strict=True)]


class SevenNetPotential(Potential):
    """SevenNet-0 (Park et al., J. Chem. Theory Comput. 20, 4857 (2024),
    doi:10.1021/acs.jctc.4c00190), PBE, with the weights shipped in the ``sevenn`` wheel.

    A batch of cells is one graph batch through the model (as sevenn's own inference does),
    which matches SevenNet's ASE calculator cell by cell (tests/test_md.py)."""

    name = "sevennet"
    model_name, modal = "7net-0", None

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        from sevenn.calculator import SevenNetCalculator

        warnings.filterwarnings("ignore", message="No tensor product accelerator")
        with contextlib.redirect_stdout(io.StringIO()):
            calculator = SevenNetCalculator(self.model_name, device=device, modal=self.modal)
        self.model, self.cutoff = calculator.model, calculator.cutoff

    @property
    def version(self) -> str:
        head = f", head {self.modal}" if self.modal else ""
        return f"sevenn {importlib.metadata.version('sevenn')}, weights {self.model_name}{head}"

    def evaluate(self, cells: Sequence[Atoms], stress: bool = False) -> list[Evaluation]:
        import sevenn._keys as KEY
        from ase.stress import voigt_6_to_full_3x3_stress
        from sevenn.atom_graph_data import AtomGraphData
        from sevenn.train.dataload import unlabeled_atoms_to_graph
        from torch_geometric.data import Batch

        graphs = []
        for atoms in cells:
            wrapped = atoms.copy()
            wrapped.wrap()
            graph = AtomGraphData.from_numpy_dict(
                unlabeled_atoms_to_graph(wrapped, self.cutoff, with_shift=False))
            if self.modal:
                graph[KEY.DATA_MODALITY] = self.modal
            graphs.append(graph)
        self.model.set_is_batch_data(True)
        output = self.model(Batch.from_data_list(graphs).to(self.device))
        energies = output[KEY.PRED_TOTAL_ENERGY].detach().cpu().numpy()
        forces = output[KEY.PRED_FORCE].detach().cpu().numpy().astype(float)
        # sevenn's stress is (xx, yy, zz, xy, yz, zx) with the opposite sign to ASE's.
        stresses = -output[KEY.PRED_STRESS].detach().cpu().numpy()[:, [0, 1, 2, 4, 5, 3]]
        ends = np.cumsum([len(atoms) for atoms in cells])
        return [Evaluation(float(energies[i]), forces[end - len(atoms):end],
                           voigt_6_to_full_3x3_stress(stresses[i]).astype(float)
                           if stress else None)
                for i, (atoms, end) in enumerate(zip(cells, ends, strict=True))]


class SevenNetR2SCANPotential(SevenNetPotential):
    """SevenNet-MF-0 with its r2SCAN head (same wheel): a meta-GGA reference that binds
    halides and oxides more tightly than PBE."""

    name = "sevennet-mf-r2scan"
    model_name, modal = "7net-mf-0", "R2SCAN"


class D3Corrected(Potential):
    """``base`` plus Grimme's D3(BJ) dispersion from torch-dftd (parameters ship in its wheel).

    About ten times the cost of the potential itself on a CPU (shared/docs/domain.md)."""

    base_class: ClassVar[type[Potential]]
    functional: ClassVar[str] = "pbe"

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        from torch_dftd.torch_dftd3_calculator import TorchDFTD3Calculator

        self.base = self.base_class(device)
        self.dispersion = TorchDFTD3Calculator(device=device, damping="bj", xc=self.functional)

    @property
    def version(self) -> str:
        return (f"{self.base.version} + D3(BJ) torch-dftd "
                f"{importlib.metadata.version('torch-dftd')}")

    def evaluate(self, cells: Sequence[Atoms], stress: bool = False) -> list[Evaluation]:
        out = []
        for atoms, base in zip(cells, self.base.evaluate(cells, stress), strict=True):
            wrapped = atoms.copy()
            wrapped.wrap()
            wrapped.calc = self.dispersion
            out.append(Evaluation(
                base.energy_eV + float(wrapped.get_potential_energy()),
                base.forces_eV_A + np.asarray(wrapped.get_forces(), dtype=float),
                base.stress_eV_A3 + np.asarray(wrapped.get_stress(voigt=False), dtype=float)
                if stress else None))
        return out


class CHGNetD3Potential(D3Corrected):
    """CHGNet (PBE-trained) + D3(BJ)."""

    name = "chgnet-d3"
    base_class = CHGNetPotential


class SevenNetD3Potential(D3Corrected):
    """SevenNet-0 (PBE) + D3(BJ)."""

    name = "sevennet-d3"
    base_class = SevenNetPotential


_BUILTINS: dict[str, type[Potential]] = {
    p.name: p for p in (CHGNetPotential, SevenNetPotential, SevenNetR2SCANPotential,
                        CHGNetD3Potential, SevenNetD3Potential)}


POTENTIALS = PluginKind("potential", ENTRY_POINT_GROUP, _BUILTINS, PotentialError)


def known_potentials() -> list[str]:
    """Built-in and installed (entry point) potential names."""
    return sorted(POTENTIALS.names())


def load_potential_class(ref: str) -> type[Potential]:
    """The :class:`Potential` subclass named ``ref``, without constructing it: a cheap check of
    a name. Anything else is refused before it is called (``os:abort`` must not run)."""
    target = POTENTIALS.resolve(ref)
    if not (isinstance(target, type) and issubclass(target, Potential)):
        raise PotentialError(f"potential {ref!r}: {type(target).__name__} {target!r:.60} is not "
                             "a screening.md.potentials.Potential subclass")
    return target


def load_potential(ref: str, device: str = "cpu") -> Potential:
    """The potential named ``ref`` (see the module docstring) on ``device``."""
    target = load_potential_class(ref)
    try:
        potential = target(device=device)
    except Exception as exc:
        raise PotentialError(f"potential {ref!r}: constructing it failed: {exc}") from exc
    if not isinstance(potential, Potential):
        raise PotentialError(f"potential {ref!r}: got {type(potential).__name__}, not a "
                             "screening.md.potentials.Potential")
    return potential
