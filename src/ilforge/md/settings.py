"""Settings of MLIP molecular dynamics (recipe section ``md``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ilforge.units import PS_TO_FS

#: a temperature in K: finite, > 0 and at most 10 000 K (beyond that no MLIP of a liquid is meaningful)
Temperature = Annotated[float, Field(gt=0, le=10000, allow_inf_nan=False)]
#: a pressure in bar: finite, within ±1e6 bar (100 GPa)
Pressure = Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)]


class ScheduleStage(BaseModel):
    """One segment of a temperature/pressure schedule, run before the equilibration at the state point.

    ``temperature_K`` / ``pressure_bar`` left out mean the state point's value; with
    ``temperature_end_K`` the temperature ramps linearly over the stage (in ``ramp_pieces`` steps).
    """

    model_config = ConfigDict(extra="forbid")

    duration_ps: float = Field(gt=0, allow_inf_nan=False)
    temperature_K: Temperature | None = None
    temperature_end_K: Temperature | None = None
    pressure_bar: Pressure | None = None
    ramp_pieces: int = Field(10, ge=1)


class MonitorSettings(BaseModel):
    """Thresholds of the stability monitors (checked every ``check_every_steps``)."""

    model_config = ConfigDict(extra="forbid")

    check_every_steps: int = Field(10, ge=1)
    min_distances_A: dict[str, float] = Field(
        default_factory=lambda: {"Li-Li": 2.0},
        description="per element pair 'A-B' (order free); closer pairs stop the run",
    )
    min_distance_any_A: float = Field(0.5, ge=0, description="any pair of atoms closer than this stops the run")
    count_contacts_A: dict[str, float] = Field(
        default_factory=lambda: {"Li-Li": 2.6}, description="pairs closer than this are counted over time (not stopped)"
    )
    bonds: bool = Field(True, description="stop when a molecule's bond graph changes")
    bond_break_factor: float = Field(1.5, gt=1, description="a bond is broken beyond this x the covalent-radius sum")
    bond_form_factor: float = Field(1.1, gt=0, description="atoms of different molecules bond within this x the covalent-radius sum")
    temperature_factor: float = Field(2.0, gt=1, description="stop when T > factor x the target temperature")
    force_spread_eV_A: float | None = Field(0.3, gt=0, description="committee force spread above which frames are saved")
    force_spread_stop_eV_A: float | None = Field(None, gt=0, description="committee force spread that stops the run")


class MDSettings(BaseModel):
    """MD with a trained MLIP (or any ASE calculator) on the built boxes.

    ``nvt`` uses ``thermostat`` (Langevin or Nose-Hoover chain); ``npt`` uses ASE's isotropic
    MTK barostat with a Nose-Hoover chain thermostat (``IsotropicMTKNPT``); ``nve`` velocity Verlet.
    """

    model_config = ConfigDict(extra="forbid")

    ensemble: Literal["nvt", "npt", "nve"] = "npt"
    thermostat: Literal["langevin", "nose-hoover"] = "langevin"
    timestep_fs: float = Field(0.5, gt=0, le=10, allow_inf_nan=False, description="fs; > 10 fs is unstable for atoms")
    equilibration_ps: float = Field(1.0, ge=0, allow_inf_nan=False)
    production_ps: float = Field(5.0, gt=0, allow_inf_nan=False)
    temperatures_K: list[Temperature] | None = Field(None, description="default: the recipe's temperatures")
    compositions: list[str | float] | None = Field(
        None, description="compositions (ids or scan values) run by `ilforge run` (default: the training compositions, else all)"
    )
    pressures_bar: list[Pressure] = Field(default_factory=lambda: [1.0], description="NPT only")
    save_every_steps: int = Field(10, ge=1)
    friction_per_ps: float = Field(1.0, gt=0, allow_inf_nan=False, description="Langevin friction")
    tdamp_fs: float = Field(50.0, gt=0, allow_inf_nan=False, description="Nose-Hoover chain time constant (~100 steps)")
    pdamp_fs: float = Field(500.0, gt=0, allow_inf_nan=False, description="MTK barostat time constant (~1000 steps)")
    tchain: int = Field(3, ge=1)
    checkpoint_every_steps: int = Field(1000, ge=1)
    flush_every_frames: int = Field(100, ge=1, description="H5MD frames buffered in memory between writes")
    schedule: list[ScheduleStage] = Field(default_factory=list)
    monitors: MonitorSettings = Field(default_factory=MonitorSettings)
    seed: int | None = Field(None, description="random seed of the MD; default: derived from the recipe seed per composition and state point")
    device: str = "cpu"
    default_dtype: Literal["float32", "float64"] = "float64"

    @model_validator(mode="after")
    def _check(self):
        """Cross-field rules: a schedule needs a thermostat, NPT a pressure, the production at least one
        step and a save interval no longer than the production."""
        if self.ensemble == "nve" and self.schedule:
            raise ValueError("md.schedule changes temperature/pressure; it needs ensemble nvt or npt, not nve")
        if self.ensemble == "npt" and not self.pressures_bar:
            raise ValueError("ensemble npt needs at least one pressure: set md.pressures_bar (or --pressure-bar)")
        if self.temperatures_K is not None and not self.temperatures_K:
            raise ValueError("md.temperatures_K is empty: give at least one temperature, or leave it out for the recipe's")
        n_prod = self.n_steps(self.production_ps)
        if n_prod < 1:
            raise ValueError(f"production_ps {self.production_ps:g} ps is shorter than one time step ({self.timestep_fs:g} fs); "
                             "give a longer production")
        if self.save_every_steps > n_prod:
            raise ValueError(f"save_every_steps {self.save_every_steps} is longer than the production ({n_prod} steps of "
                             f"{self.timestep_fs:g} fs): the trajectory would hold a single frame; save more often "
                             "(--save-every) or run longer (--production-ps)")
        return self

    def n_steps(self, duration_ps: float) -> int:
        """Number of MD steps in ``duration_ps``."""
        return int(round(duration_ps * PS_TO_FS / self.timestep_fs))
