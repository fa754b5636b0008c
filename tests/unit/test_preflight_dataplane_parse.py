"""The parsers of what the data-path preflight's pods print, on samples in each tool's documented
format (`tests.preflight_dataplane_samples` says where each is documented; the numbers are illustrative)."""

from __future__ import annotations

import subprocess

from stacks.preflight.dataplane.parse import (
    HugePages,
    cuda_version,
    efa_rdm_domains,
    library_path,
    parse_df_total,
    parse_gpus,
    parse_huge_pages,
    parse_nixlbench,
    parse_sanity,
)
from stacks.preflight.dataplane.script import SECTION_NAMES, sanity_script
from stacks.preflight.dataplane.thresholds import BandwidthRow, best_large_block
from tests import preflight_dataplane_samples as samples


def test_the_table_is_read_by_its_column_names() -> None:
    rows = parse_nixlbench(samples.nixlbench_log())
    assert rows is not None
    assert [(r.block_bytes, r.gbs) for r in rows] == list(samples.HEALTHY_SWEEP)
    assert rows[0] == BandwidthRow(4096, 1, 0.61, 10.0)


def test_the_header_is_as_printstats_lays_it_out() -> None:
    """A field of 20 characters then nine of 15; the separator under it is 160 dashes."""
    assert len(samples.HEADER) == 20 + 9 * 15
    assert len(samples.DASHES) == 160
    assert samples.HEADER.startswith("Block Size (B)      Batch Size     B/W (GB/Sec)   Avg Lat. (us)  ")


def test_the_160_dash_separators_and_the_configuration_block_are_not_rows() -> None:
    log = samples.nixlbench_log(((64 << 20, 40.0),))
    assert log.count(samples.DASHES) == 2
    rows = parse_nixlbench(log)
    assert rows == (BandwidthRow(64 << 20, 1, 40.0, 10.0),)


def test_log_lines_interleaved_with_the_table_are_skipped() -> None:
    noisy = samples.nixlbench_log(noise=samples.UCX_NOISE)
    lines = noisy.splitlines()
    # more noise between two rows, and a libfabric warning that starts with a number-like token
    at = lines.index(samples.row(65536, 7.9))
    lines[at:at] = ["libfabric:1234:1700000000::efa:core:efa_device_init():1  warning 2 3 4 5 6 7 8 9",
                    "0 1 2"]
    rows = parse_nixlbench("\n".join(lines))
    assert rows is not None
    assert [(r.block_bytes, r.gbs) for r in rows] == list(samples.HEALTHY_SWEEP)


def test_the_older_layout_reads_too() -> None:
    rows = parse_nixlbench(samples.LEGACY_LOG)
    assert rows is not None
    assert [(r.block_bytes, r.gbs, r.avg_latency_us) for r in rows] == [
        (4096, 0.199229, 20.1), (16777216, 27.961426, 600.0), (67108864, 30.503461, 2200.0)]


def test_a_log_without_a_table_has_no_rows() -> None:
    assert parse_nixlbench(samples.TARGET_LOG) is None
    assert parse_nixlbench("") is None


def test_the_best_row_counts_only_blocks_of_16_mib_or_more() -> None:
    rows = (BandwidthRow(1 << 20, 1, 90.0), BandwidthRow(16 << 20, 1, 30.0), BandwidthRow(32 << 20, 1, 35.0),
            BandwidthRow(64 << 20, 1, 33.0))
    assert best_large_block(rows) == rows[2]
    assert best_large_block(rows[:1]) is None


# -- the sanity script ------------------------------------------------------------------------------
def test_the_script_runs_in_a_posix_shell_and_its_output_parses() -> None:
    """Run for real, on a machine without the GPU tools: every section is there, with its exit status."""
    result = subprocess.run(["/bin/sh", "-c", sanity_script()], capture_output=True, text=True, timeout=30, check=True,
                            env={"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": "/opt/amazon/efa/lib:/usr/lib"})
    out = parse_sanity(result.stdout)
    assert out.finished
    assert tuple(out.sections) == SECTION_NAMES
    fi_info = out.sections["fi_info"]
    assert fi_info.exit_code == 127
    assert "not found" in fi_info.text
    assert library_path(out.sections["library-path"].text) == ("/opt/amazon/efa/lib", "/usr/lib")
    assert parse_df_total(out.sections["shm"].text) is not None


def test_sections_keep_their_text_and_status() -> None:
    out = parse_sanity(samples.sanity_log({"fi_info": (samples.FI_INFO_NONE, 1)}))
    assert out.finished
    assert out.sections["fi_info"].text == samples.FI_INFO_NONE
    assert out.sections["fi_info"].exit_code == 1
    assert out.sections["gpus"].text == samples.gpus_csv()


def test_a_script_cut_short_is_not_finished() -> None:
    log = samples.sanity_log(finished=False)
    log = log[:log.index("### dynamo-preflight section library-path") + 60]
    out = parse_sanity(log)
    assert not out.finished
    assert out.sections["library-path"].exit_code is None


def test_nvidia_smi_rows_and_banner() -> None:
    rows = parse_gpus(samples.gpus_csv(2, name="NVIDIA L40S", memory="46068 MiB"))
    assert [(r.index, r.name, r.driver, r.memory) for r in rows] == [
        ("0", "NVIDIA L40S", "580.82.07", "46068 MiB"), ("1", "NVIDIA L40S", "580.82.07", "46068 MiB")]
    assert parse_gpus(samples.NVML_FAILURE) == []
    assert cuda_version(samples.nvidia_smi_banner(cuda="12.8")) == "12.8"
    assert cuda_version(samples.NVML_FAILURE) is None


def test_df_total_of_dev_shm() -> None:
    assert parse_df_total(samples.df_shm(83886080)) == 80 << 30
    assert parse_df_total("df: /dev/shm: No such file or directory") is None


def test_efa_domains_are_counted_once_per_device() -> None:
    assert len(efa_rdm_domains(samples.fi_info(32))) == 32
    assert efa_rdm_domains(samples.fi_info(2, direct=False)) == ["rdmap0s0-rdm", "rdmap1s0-rdm"]
    assert efa_rdm_domains(samples.FI_INFO_NONE) == []


def test_efa_domains_in_the_aws_guides_older_form() -> None:
    """The AWS guide's sample: a fabric named after the device's address, domains efa_N-rdm."""
    text = "\n".join(f"provider: efa\n    fabric: EFA-fe80::c6e:8fff:fef6:e7f{i}\n    domain: efa_{i}-rdm\n"
                     "    version: 111.0\n    type: FI_EP_RDM\n    protocol: FI_PROTO_EFA" for i in range(4))
    assert efa_rdm_domains(text) == ["efa_0-rdm", "efa_1-rdm", "efa_2-rdm", "efa_3-rdm"]


def test_other_providers_and_endpoint_types_are_not_efa_rdm() -> None:
    text = ("provider: tcp\n    fabric: 10.0.0.0/16\n    domain: eth0\n    type: FI_EP_RDM\n"
            "provider: efa\n    fabric: efa\n    domain: rdmap0s0-dgrm\n    type: FI_EP_DGRAM\n")
    assert efa_rdm_domains(text) == []


def test_huge_pages_from_meminfo() -> None:
    assert parse_huge_pages(samples.meminfo(20480)) == HugePages(20480, 20480, 2048)
    assert parse_huge_pages(samples.meminfo(20480)).total_bytes == 40 << 30  # type: ignore[union-attr]
    assert parse_huge_pages("MemTotal: 1 kB") is None


def test_library_path_entries() -> None:
    assert library_path("/opt/amazon/efa/lib::/usr/lib\n") == ("/opt/amazon/efa/lib", "/usr/lib")
    assert library_path("\n") == ()
