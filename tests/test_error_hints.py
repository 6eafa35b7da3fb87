"""Errors and warnings that say what to do: a TREx device-metadata file names the profile to
pass instead, an Nsight report names its export command, an archive whose traces claim the
same rank is warned about."""
from __future__ import annotations

import gzip
import io
import json
import tarfile

from tests.conftest import CORPUS, SAMPLES
from tests.test_bad_input import assert_user_error, run_cli


def test_trex_metadata_names_the_profile_beside_it(tmp_path):
    meta = tmp_path / "resnet.onnx.engine.metadata.json"
    meta.write_text(json.dumps({"device_information": {"Name": "NVIDIA A100-SXM4-40GB",
                                                       "Compute Capability": [8, 0]}}))
    result = run_cli("summary", meta, cache_dir=tmp_path)
    assert_user_error(result, meta, "pass the profile JSON beside it")
    assert str(tmp_path / "resnet.onnx.engine.profile.json") in result.stderr
    # the list form trt-engine-explorer also writes
    listed = tmp_path / "other.profile.metadata.json"
    listed.write_text(json.dumps([{"Name": "NVIDIA A100", "Compute Capability": "8.0"}]))
    result = run_cli("summary", listed, cache_dir=tmp_path)
    assert_user_error(result, listed, "pass the profile JSON beside it")
    assert str(tmp_path / "other.profile.json") in result.stderr


def test_nsys_report_error_is_the_export_command(tmp_path):
    report = CORPUS / "nsys" / "zspo__TRT2022_VilBERT__src__VilBertModel.nsys-rep"
    fake = tmp_path / "run.nsys-rep"  # a report without nsys on PATH (the content decides)
    if report.is_file():
        fake.write_bytes(report.read_bytes()[: 1 << 16])
    else:
        import pytest
        pytest.skip(f"no .nsys-rep in the corpus at {report}")
    result = run_cli("summary", fake, cache_dir=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"nsys export --type sqlite --output run.sqlite {fake}" in result.stderr


def _archive(path, ranks):
    doc = json.loads(gzip.decompress((SAMPLES / "decoder_h100.pt.trace.json.gz").read_bytes()))
    with tarfile.open(path, "w:gz") as tar:
        for i, rank in enumerate(ranks):
            doc["distributedInfo"] = {"rank": rank, "world_size": len(ranks)}
            data = json.dumps(doc).encode()
            info = tarfile.TarInfo(f"worker{i}.pt.trace.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_archive_with_two_traces_claiming_one_rank_is_warned_about(tmp_path):
    same = tmp_path / "same.tar.gz"
    _archive(same, [0, 0])
    result = run_cli("summary", same, "--json", cache_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if "claim rank 0" in line]
    assert len(warned) == 1 and "worker0.pt.trace.json" in warned[0] and "worker1" in warned[0]
    apart = tmp_path / "apart.tar.gz"
    _archive(apart, [0, 1])
    result = run_cli("summary", apart, "--json", cache_dir=tmp_path)
    assert result.returncode == 0 and "claim rank" not in result.stderr
