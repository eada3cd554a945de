"""CP2K labeler input: defaults of the papers, overrides merged into one input (no CP2K needed)."""

from ilforge.reference.cp2k import CP2KLabeler, merge_inputs


def test_default_input_pbe_d3bj_ot():
    lab = CP2KLabeler()
    assert lab.level_of_theory == (
        "cp2k:PBE-D3(BJ);DZVP-MOLOPT-SR-GTH;GTH-PBE;cutoff=400Ry;rel_cutoff=50Ry;gamma;eps_scf=1e-06")
    inp = lab.input_template()
    for needle in ("TYPE DFTD3(BJ)", "REFERENCE_FUNCTIONAL PBE", "&OT ON", "MINIMIZER DIIS", "REL_CUTOFF [Ry] 50",
                   "/usr/share/cp2k/dftd3.dat"):
        assert needle in inp, needle
    assert inp.count("&FORCE_EVAL") == 1 and inp.count("&SCF\n") + inp.count("&SCF ") <= 1
    assert "MINIMIZER CG" in lab.input_template(isolated=True) and "PRECONDITIONER FULL_ALL" in lab.input_template(True)
    assert "DFTD3" not in CP2KLabeler(dispersion=None).input_template()


def test_extra_input_overrides_and_changes_level_of_theory():
    extra = "&FORCE_EVAL\n&DFT\n&SCF\nEPS_SCF 1e-8\n&OT OFF\n&END OT\n&END SCF\n&END DFT\n&END FORCE_EVAL"
    lab = CP2KLabeler(extra_input=extra)
    inp = lab.input_template()
    assert "EPS_SCF 1e-8" in inp and "EPS_SCF 1e-06\n" not in inp.split("&OUTER_SCF")[0]
    assert "&OT OFF" in inp and "&OT ON" not in inp
    assert lab.level_of_theory != CP2KLabeler().level_of_theory and ";inp=" in lab.level_of_theory


def test_merge_keeps_distinct_kinds():
    out = merge_inputs("&A\n&KIND H\nB 1\n&END KIND\n&END A", "&A\n&KIND O\nB 2\n&END KIND\n&KIND H\nB 3\n&END KIND\n&END A")
    assert out.count("&KIND") == 2 and "B 3" in out and "B 1" not in out
