"""The Dask scheduler and dashboard never listen on every interface (issue 16: trust boundary).

The cluster configuration is built without starting workers; one test starts a SLURM cluster's
scheduler (no jobs) and checks where it listens."""

from __future__ import annotations

import pytest

from ilforge.engine.compute import ComputeError, ComputeSettings, binds_all_interfaces, load_compute

SLURM = {"cluster": "slurm", "options": {"cores": 4, "memory": "8GB", "walltime": "01:00:00"}}


def _strings(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _strings(v)
    elif obj is not None:
        yield str(obj)


def test_jobqueue_defaults_bind_the_hostname_and_keep_the_dashboard_off(monkeypatch):
    from ilforge.engine import dask_cluster

    monkeypatch.setattr(dask_cluster.socket, "gethostname", lambda: "login1.example")
    kw = dask_cluster.jobqueue_kwargs(ComputeSettings(backend="dask", dask=SLURM))
    sched = kw["scheduler_options"]
    assert sched["host"] == "login1.example"
    assert sched["dashboard"] is False and sched["dashboard_address"].startswith("127.0.0.1:")
    assert not any("0.0.0.0" in s for s in _strings(kw))
    for key in ("host", "dashboard_address"):
        assert not binds_all_interfaces(sched[key])
    on = dask_cluster.jobqueue_kwargs(ComputeSettings(backend="dask", dask={**SLURM, "dashboard": True}))
    assert on["scheduler_options"]["dashboard_address"] == "127.0.0.1:8787"
    ib = dask_cluster.jobqueue_kwargs(ComputeSettings(backend="dask", dask={**SLURM, "interface": "ib0"}))
    assert ib["interface"] == "ib0" and "host" not in ib["scheduler_options"]


def test_local_cluster_listens_on_the_loopback():
    from ilforge.engine.dask_cluster import local_cluster_kwargs

    kw = local_cluster_kwargs(ComputeSettings(backend="dask", workers=2))
    assert kw["host"] == "127.0.0.1" and kw["dashboard_address"] is None
    assert not any("0.0.0.0" in s for s in _strings(kw))


@pytest.mark.parametrize("dask", [
    {"host": "0.0.0.0"}, {"dashboard": ":8787"}, {"dashboard": "0.0.0.0:8787"},
    {"options": {"scheduler_options": {"host": "0.0.0.0"}}}, {"options": {"dashboard_address": ":8787"}},
    {"options": {"host": "::"}},
])
def test_open_binds_are_refused(tmp_path, dask):
    p = tmp_path / "compute.yaml"
    import yaml

    p.write_text(yaml.safe_dump({"backend": "dask", "dask": {**SLURM, **dask}}))
    with pytest.raises(ComputeError, match="every network interface"):
        load_compute(p)


def test_the_recipe_code_opt_in_reaches_batch_jobs(monkeypatch):
    from ilforge.engine.dask_cluster import jobqueue_kwargs, local_cluster_kwargs

    monkeypatch.delenv("ILFORGE_ALLOW_RECIPE_CODE", raising=False)
    c = ComputeSettings(backend="dask", dask=SLURM)
    assert not any("ILFORGE_ALLOW_RECIPE_CODE" in line for line in jobqueue_kwargs(c)["job_script_prologue"])
    monkeypatch.setenv("ILFORGE_ALLOW_RECIPE_CODE", "1")
    assert "export ILFORGE_ALLOW_RECIPE_CODE=1" in jobqueue_kwargs(c)["job_script_prologue"]
    assert local_cluster_kwargs(c)["env"]["ILFORGE_ALLOW_RECIPE_CODE"] == "1"


def _pem_files(tmp_path):
    names = {}
    for n in ("ca_file", "cert", "key"):
        (tmp_path / f"{n}.pem").write_text("-----BEGIN-----\n")
        names[n] = str(tmp_path / f"{n}.pem")
    return names


def test_tls_settings_give_a_security_object(tmp_path):
    pytest.importorskip("distributed")
    from ilforge.engine.dask_cluster import jobqueue_kwargs

    tls = _pem_files(tmp_path)
    kw = jobqueue_kwargs(ComputeSettings(backend="dask", dask={**SLURM, "tls": tls}))
    sec = kw["security"]
    assert kw["protocol"] == "tls://" and sec.require_encryption
    assert sec.tls_ca_file == tls["ca_file"] and sec.tls_scheduler_cert == tls["cert"] and sec.tls_worker_key == tls["key"]
    (tmp_path / "key.pem").unlink()
    with pytest.raises(ComputeError, match="dask.tls.key"):
        jobqueue_kwargs(ComputeSettings(backend="dask", dask={**SLURM, "tls": tls}))


def test_a_started_slurm_scheduler_does_not_listen_on_all_interfaces():
    pytest.importorskip("dask_jobqueue")
    from ilforge.engine.dask_cluster import jobqueue_cluster

    cluster = jobqueue_cluster(ComputeSettings(backend="dask", dask={**SLURM, "host": "127.0.0.1"}))
    try:
        address = cluster.scheduler.address
        http = [s.getsockname()[0] for s in cluster.scheduler.http_server._sockets.values()]
    finally:
        cluster.close()
    assert address.startswith("tcp://127.0.0.1:")
    assert http and all(h == "127.0.0.1" for h in http)  # dashboard off: only the health routes, on the loopback
