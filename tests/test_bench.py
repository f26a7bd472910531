"""The benchmark's own arithmetic and options (no rendering)."""

import json
import sys

import pytest

from headless.bench import median_frame_seconds


def test_median_frame_time_ignores_a_few_slowed_frames():
    """Frames every second, two of them held up by another job for 8 s: the median frame
    time is still 1 s (the throughput-based ratio would count the 8 s)."""
    done = [0.0, 1.0, 2.0, 10.0, 11.0, 12.0, 20.0, 21.0, 22.0]
    assert median_frame_seconds([{"finished_unix": t} for t in done]) == 1.0
    assert median_frame_seconds([{"finished_unix": 5.0}]) is None
    assert median_frame_seconds([{"finished_unix": 5.0}, {"finished_unix": 6.5}]) == 1.5


def test_rounds_set_each_pipeline_run_against_the_bare_run_after_it():
    """A machine twice as slow in round 3: both sides slow down together and that round's ratio
    is still 1.25, the median of 1.0, 1.25, 1.25; the first round's frames/s stay the row's own."""
    from headless.bench import ratios, summarize_rounds

    def row(fps, median):
        return {"steady_frames_per_s": fps, "median_frame_s": median, "cpu_seconds_per_frame": {"write": 0.01}}

    rounds = []
    for pipe, bare in (((8.0, 0.125), (8.0, 0.125)), ((8.0, 0.125), (10.0, 0.1)), ((4.0, 0.25), (5.0, 0.2))):
        rows, b = [row(*pipe)], {"steady_frames_per_s": bare[0], "median_frame_s": bare[1]}
        rows[0].update(ratios(rows[0], b))
        rounds.append((rows, b))
    first = rounds[0][0]
    summarize_rounds(first, rounds)
    assert [e["ratio_to_bare"] for e in first[0]["rounds"]] == [1.0, 1.25, 1.25]
    assert first[0]["ratio_to_bare"] == 1.25 and first[0]["ratio_to_bare_median"] == 1.25  # medians
    assert first[0]["steady_frames_per_s"] == 8.0
    assert [e["bare_steady_frames_per_s"] for e in first[0]["rounds"]] == [8.0, 10.0, 5.0]


def test_ratios_need_both_sides():
    from headless.bench import ratios

    assert ratios({"steady_frames_per_s": None}, {"steady_frames_per_s": 2.0}) == {}
    # Several render processes have no median frame time: only the frames/s ratio.
    got = ratios(
        {"steady_frames_per_s": 4.0, "median_frame_s": None}, {"steady_frames_per_s": 5.0, "median_frame_s": 0.2}
    )
    assert got == {"ratio_to_bare": 1.25}


def test_parts_per_frame_is_the_mean_over_frames_most_expensive_first():
    """`render --time-parts` logs each part's CPU seconds per frame; a part missing from a
    frame's record (it did not run there) counts 0 in that frame, a record without parts
    (a run without the option) is left out."""
    from headless.bench import parts_per_frame

    records = [
        {"cpu_seconds_by_part": {"annotate": {"rgb": 0.002, "lidar": 0.006}, "write": {"basic": 0.010}}},
        {"cpu_seconds_by_part": {"annotate": {"rgb": 0.004}, "write": {"basic": 0.020, "coco": 0.001}}},
        {"cpu_seconds": {"annotate": 1.0}},
    ]
    parts = parts_per_frame(records)
    assert parts == {"annotate": {"lidar": 0.003, "rgb": 0.003}, "write": {"basic": 0.015, "coco": 0.0005}}
    assert list(parts["write"]) == ["basic", "coco"]
    assert parts_per_frame([]) == {"annotate": {}, "write": {}}


def test_the_benchmarks_copy_makes_the_parameter_files_own_paths_absolute(tmp_path):
    """The copy runs from a temporary folder: what the file names relative to itself (the
    .blend, asset files and pools, the asset list, a texture folder, background photos) is
    made absolute, and nothing else, e.g. a `property` randomizer's data `path` (was: any
    key named `path` made a file path, and folders and globs kept relative)."""
    from argparse import Namespace

    from headless.bench import bench_config

    param = tmp_path / "scene.toml"
    param.write_text(
        'asset_list = "lists/more.toml"\n[scene]\nblend = "shop.blend"\n'
        '[[assets]]\nname = "mug"\nfile = "models/mug.glb"\n[[assets]]\nname = "pool"\nfiles = "models/*.glb"\n'
        '[[randomizers]]\ntype = "texture"\ntargets = "mug"\nfolder = "textures"\n'
        '[[randomizers]]\ntype = "background"\ntargets = "cam"\nfiles = ["bg/*.jpg", "/photos/*.png"]\n'
        '[[randomizers]]\ntype = "property"\ntargets = "mug"\npath = \'modifiers["Bevel"].width\'\nvalue = 0.1\n'
    )
    args = Namespace(file=param, frames=2, resolution=None, samples=None, device=None, writers=None, annotators=None)
    data = bench_config(args)
    here = tmp_path.resolve().as_posix()
    assert data["asset_list"] == f"{here}/lists/more.toml" and data["scene"]["blend"] == f"{here}/shop.blend"
    assert [a.get("file") or a.get("files") for a in data["assets"]] == [
        f"{here}/models/mug.glb",
        f"{here}/models/*.glb",
    ]
    texture, background, prop = data["randomizers"]
    assert texture["folder"] == f"{here}/textures" and background["files"] == [f"{here}/bg/*.jpg", "/photos/*.png"]
    assert prop["path"] == 'modifiers["Bevel"].width'


def test_trend_windows_hold_every_frame_of_the_run():
    """12 frames in 10 windows: the last window ends at the run's last frame (before: the
    windows held 10 frames, 0..9, and the end of the run, where growth shows, was left out)."""
    from headless.bench import trend_of

    records = [{"frame": f, "rss_mb": 100.0 + f, "worker_rss_mb": 50.0, "seconds": {"render": 0.1}} for f in range(12)]
    rows = trend_of(records, windows=10)
    assert len(rows) == 10 and rows[0]["frames"][0] == 0 and rows[-1]["frames"][1] == 11
    assert rows[-1]["main_rss_mb"] == 111.0
    covered = [f for row in rows for f in range(row["frames"][0], row["frames"][1] + 1)]
    assert covered == list(range(12))
    assert trend_of(records[:3], windows=4) == []


def _exit_status(main, argv) -> int:
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


@pytest.mark.parametrize(
    "option, expected",
    [
        (["--resolution", "64by48"], "--resolution '64by48': expected WxH"),
        (["--resolution", "0x48"], "render.resolution: got [0, 48]"),
        (["--frames", "0"], "run.frames: got 0"),
        (["--samples", "0"], "render.samples: got 0"),  # was ignored: the file's 16 samples ran
        (["--device", "banana"], 'render.device: got "banana"'),
        (["--writers", "nope"], "writers.nope"),
        (["--chunk", "0"], "--chunk 0: expected a whole number >= 1"),
        (["--workers", "0"], "--workers 0: expected a whole number >= 1"),  # was ignored
    ],
)
def test_bad_options_exit_2_naming_the_option_or_the_users_file(tmp_path, monkeypatch, capsys, option, expected):
    """Before: a traceback (--resolution 64by48), exit 1 with the problem named in a
    temporary copy (--frames 0), or the option silently ignored (--samples 0, --workers 0).
    Now exit 2 before anything runs, the user's file named, no temporary folder left."""
    import tempfile

    import headless.bench as bench

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(bench, "run_pipeline", lambda *a: pytest.fail("ran with bad options"))
    assert _exit_status(bench.main, [str(bench.ROOT / "presets" / "bench30.toml"), *option]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err, err
    assert "sdg_bench_" not in err and not list(tmp_path.iterdir())


def test_a_bad_parameter_file_is_named_as_the_user_wrote_it(tmp_path, capsys):
    import headless.bench as bench

    param = tmp_path / "mine.toml"
    param.write_text('[render]\nsamples = -1\n[[cameras]]\nname = "c"\nlocation = [0, -3, 1]\nlook_at = [0, 0, 0]\n')
    assert _exit_status(bench.main, [str(param), "--frames", "2"]) == 2
    err = capsys.readouterr().err
    assert f"{param.resolve().as_posix()}: render.samples: got -1" in err and "sdg_bench_" not in err, err


def test_bench_and_the_command_line_list_a_files_problems_with_one_function(tmp_path, capsys):
    """headless.bench had its own copy of the command line's listing of problems: one
    function now, the header saying what the benchmark added, the lines as before."""
    import headless.bench as bench
    import headless.cli as cli
    from sdg_addon.config import ConfigError

    assert not hasattr(bench, "_print_problems")
    param = tmp_path / "mine.toml"
    param.write_text("[render]\nsamples = -1\n")
    error = ConfigError(["a", "b"])
    cli.report_problems(param, error)
    cli.report_problems(param, error, " with the benchmark's options applied")
    assert capsys.readouterr().err.splitlines() == [
        f"2 problem(s) in {param}:",
        "  a",
        "  b",
        f"2 problem(s) in {param} with the benchmark's options applied:",
        "  a",
        "  b",
    ]
    assert _exit_status(bench.main, [str(param), "--frames", "0"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"3 problem(s) in {param} with the benchmark's options applied:", err  # frames, samples, cameras
    assert len(err) == 4 and all(line.startswith(f"  {param.resolve().as_posix()}: ") for line in err[1:]), err


def test_keep_leaves_no_temporary_folder(tmp_path, monkeypatch):
    """--keep: the datasets go there and the temporary folder with the runs' copy of the
    parameter file is removed as without it (before: one sdg_bench_* folder left per call)."""
    import tempfile

    import headless.bench as bench

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    ran = []

    def fake_run(param, out, procs, args):
        ran.append((json.loads(param.read_text())["run"]["frames"], out))
        return {"steady_frames_per_s": 1.0, "median_frame_s": 1.0}

    monkeypatch.setattr(bench, "run_pipeline", fake_run)
    argv = ["--frames", "2", "--no-bare", "--keep", str(tmp_path / "kept"), "--json", str(tmp_path / "b.json")]
    assert bench.main(argv) == 0
    assert ran == [(2, tmp_path / "kept" / "procs1")]
    assert not list(tmp.iterdir())


@pytest.mark.parametrize(
    "option, expected",
    [
        (["--loops", "0"], "--loops 0: expected a whole number >= 1"),  # was one pass, "loops": 0 reported
        (["--resolution", "32*24"], "--resolution '32*24': expected WxH"),  # was a traceback
        (["--frames", "0"], "run.frames: got 0"),
        (["--profile", "-3"], "--profile -3: expected a whole number >= 1"),  # was every function printed
        (["--profile", "0"], "--profile 0: expected a whole number >= 1"),  # was no profile, said nowhere
    ],
)
def test_bench_sink_bad_options_exit_2(capsys, option, expected):
    from headless.bench_sink import main

    assert _exit_status(main, option) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and "sdg_bench" not in err, err


def test_a_row_whose_processes_did_not_all_render_says_so(tmp_path, monkeypatch, capsys):
    """--procs 2 --frames 4 with chunks of 8: one process rendered every frame (the run
    starts no more processes than chunks); the row said procs 2 beside figures of one
    process without a word."""
    import headless.bench as bench

    def fake_run(param, out, procs, args):
        return {"procs": procs, "render_processes": 1, "steady_frames_per_s": 1.0, "median_frame_s": 1.0}

    monkeypatch.setattr(bench, "run_pipeline", fake_run)
    out = tmp_path / "b.json"
    assert bench.main(["--frames", "4", "--procs", "1,2", "--no-bare", "--json", str(out)]) == 0
    one, two = json.loads(out.read_text())["pipeline"]
    assert "note" not in one
    assert "2 render processes asked, 1 rendered frames" in two["note"] and "--chunk" in two["note"]
    assert two["note"] in capsys.readouterr().err
    # With --gpus: K per GPU times the GPUs named or counted ("all": not known here).
    assert bench.processes_asked(3, "2") == 6 and bench.processes_asked(2, "0,1,3") == 6
    assert bench.processes_asked("auto", "1") is None and bench.processes_asked(2, "all") is None
    assert bench.processes_asked(2, None) == 2


def test_json_into_a_missing_folder_is_refused_before_the_runs(tmp_path, monkeypatch, capsys):
    """Before: the whole benchmark ran, then a traceback (FileNotFoundError) when the
    figures were written; bench_sink the same."""
    import headless.bench as bench
    from headless.bench_sink import main as sink_main

    monkeypatch.setattr(bench, "run_pipeline", lambda *a: pytest.fail("ran"))
    target = tmp_path / "nodir" / "b.json"
    for main in (bench.main, sink_main):
        assert _exit_status(main, ["--frames", "2", "--json", str(target)]) == 2
        err = capsys.readouterr().err
        assert f"--json {target}" in err and "no such folder" in err and "Traceback" not in err, err


def test_json_naming_a_folder_is_refused_before_the_runs(tmp_path, monkeypatch, capsys):
    """Before: the whole benchmark ran (or the trend was read), then a traceback
    (IsADirectoryError) where the figures were to be written; bench_sink the same."""
    import headless.bench as bench
    from headless.bench_sink import main as sink_main

    monkeypatch.setattr(bench, "run_pipeline", lambda *a: pytest.fail("ran"))
    for main, argv in (
        (bench.main, ["--frames", "2"]),
        (sink_main, ["--frames", "2"]),
        (bench.main, ["--trend", str(tmp_path)]),
    ):
        assert _exit_status(main, [*argv, "--json", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert f"--json {tmp_path}: a folder" in err and "bench.json" in err and "Traceback" not in err, err


def test_trend_writes_json_too(tmp_path, capsys):
    """--trend --json: the summary also in the file, as the benchmark's figures (it was
    printed only, the option ignored)."""
    import headless.bench as bench

    (tmp_path / "run" / "audit").mkdir(parents=True)
    lines = [{"frame": f, "rss_mb": 10.0, "worker_rss_mb": 5.0, "seconds": {"render": 0.1}} for f in range(4)]
    (tmp_path / "run" / "audit" / "frames.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert bench.main(["--trend", str(tmp_path / "run"), "--json", str(tmp_path / "t.json")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert json.loads((tmp_path / "t.json").read_text()) == printed and printed["frames"] == 4


def test_trend_of_a_run_killed_mid_write_reads_its_finished_frames(tmp_path, capsys):
    """A run killed while it logged a frame leaves a torn last line in its frame log (which
    --resume and the report take for an unfinished frame): --trend stopped on it with a
    JSONDecodeError traceback. It now reads the finished frames as they do."""
    import headless.bench as bench

    (tmp_path / "run" / "audit").mkdir(parents=True)
    lines = [{"frame": f, "rss_mb": 10.0 + f, "worker_rss_mb": 5.0, "seconds": {"render": 0.1}} for f in range(4)]
    log = "".join(json.dumps(r) + "\n" for r in lines) + '{"frame": 4, "rss_mb": 1'
    (tmp_path / "run" / "audit" / "frames.jsonl").write_text(log)
    assert bench.main(["--trend", str(tmp_path / "run")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["frames"] == 4 and printed["windows"][-1]["frames"] == [3, 3]


def test_trend_of_a_run_is_in_the_windows_the_docs_say(tmp_path, capsys):
    """docs/benchmarks.md gave --trend OUTDIR the benchmark's four windows; it has ten (one
    a frame for a shorter log), which the page now says."""
    import headless.bench as bench

    (tmp_path / "run" / "audit").mkdir(parents=True)
    for n, windows in ((40, 10), (6, 6)):
        lines = [{"frame": f, "rss_mb": 10.0, "worker_rss_mb": 5.0, "seconds": {"render": 0.1}} for f in range(n)]
        (tmp_path / "run" / "audit" / "frames.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
        assert bench.main(["--trend", str(tmp_path / "run")]) == 0
        assert len(json.loads(capsys.readouterr().out)["windows"]) == windows
    from pathlib import Path

    page = " ".join((Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md").read_text().split())
    assert "--trend OUTDIR`: the same figures of a run's frame log, in up to ten windows, one a frame" in page


def test_trend_into_a_closed_pipe_ends_with_its_exit_code(tmp_path, monkeypatch):
    """`bench --trend DIR | head -3`: the figures, printed once the work was done, ended in a
    BrokenPipeError traceback (the three benchmarks print them the same way); now exit 0, and
    --json still gets them."""
    import os

    import headless.bench as bench

    (tmp_path / "run" / "audit").mkdir(parents=True)
    lines = [{"frame": f, "rss_mb": 10.0, "worker_rss_mb": 5.0, "seconds": {"render": 0.1}} for f in range(4)]
    (tmp_path / "run" / "audit" / "frames.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    read, write = os.pipe()
    os.close(read)
    stdout = os.fdopen(write, "w")
    monkeypatch.setattr("sys.stdout", stdout)
    assert bench.main(["--trend", str(tmp_path / "run"), "--json", str(tmp_path / "t.json")]) == 0
    stdout.flush()
    assert json.loads((tmp_path / "t.json").read_text())["frames"] == 4


def test_procs_auto_without_gpus_exits_2(monkeypatch, capsys):
    """A bad --procs is a bad option as the others: exit 2 with the usage (it was exit 1)."""
    import headless.bench as bench

    monkeypatch.setattr(bench, "run_pipeline", lambda *a: pytest.fail("ran"))
    for procs in ("auto", "0", "1,x"):
        assert _exit_status(bench.main, ["--frames", "2", "--procs", procs]) == 2
        assert "positive integers, or auto with --gpus" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("missing.toml", None, "expected an existing file"),
        ("broken.toml", "[render\nsamples = 1\n", "TOML"),
        ("folder.toml", "", "a readable file"),
        ("notes.txt", "x", "a parameter file ending in .toml or .json"),
    ],
)
def test_a_parameter_file_that_cannot_be_read_exits_2_naming_it(tmp_path, monkeypatch, capsys, name, text, expected):
    """Before: a traceback (FileNotFoundError, TOMLDecodeError, IsADirectoryError) from
    bench and bench_sink alike."""
    import headless.bench as bench
    from headless.bench_sink import main as sink_main

    monkeypatch.setattr(bench, "run_pipeline", lambda *a: pytest.fail("ran"))
    path = tmp_path / name
    if name == "folder.toml":
        path.mkdir()
    elif text is not None:
        path.write_text(text)
    for main in (bench.main, sink_main):
        assert _exit_status(main, [str(path), "--frames", "2"]) == 2
        err = capsys.readouterr().err
        assert expected in err and name in err and "Traceback" not in err, err


def test_a_relative_keep_folder_is_the_users_not_the_tools(tmp_path, monkeypatch):
    """--keep kept: relative to where the command runs (before: the runs, started in the
    tool's own folder, wrote the datasets there, and the benchmark then failed with an
    IndexError reading their logs where they were not)."""
    import headless.bench as bench

    monkeypatch.chdir(tmp_path)
    seen = []

    def fake_run(param, out, procs, args):
        seen.append(out)
        return {"steady_frames_per_s": 1.0, "median_frame_s": 1.0}

    monkeypatch.setattr(bench, "run_pipeline", fake_run)
    assert bench.main(["--frames", "2", "--no-bare", "--keep", "kept", "--json", "b.json"]) == 0
    assert seen == [tmp_path / "kept" / "procs1"] and seen[0].is_absolute()
    assert (tmp_path / "b.json").is_file()


def test_the_ceiling_at_the_files_own_size_when_it_gives_width_and_height(tmp_path, monkeypatch):
    """A file with `width` / `height` (not `resolution`) and its own samples: the ceiling's
    frames/s are at that size (before: at 640 x 480, the fallback when `resolution` was absent)."""
    import headless.bench as bench

    param = tmp_path / "wh.toml"
    text = (bench.ROOT / "presets" / "bench30.toml").read_text()
    param.write_text(
        text.replace("resolution = [640, 480]", "width = 320\nheight = 200").replace("samples = 16", "samples = 4")
    )
    monkeypatch.setattr(bench, "run_pipeline", lambda *a: {"steady_frames_per_s": 1.0, "median_frame_s": 1.0})
    monkeypatch.setattr(bench, "run_bare", lambda *a, **k: {"samples_per_s": 320 * 200 * 4 * 50})
    out = tmp_path / "b.json"
    assert bench.main([str(param), "--frames", "2", "--no-bare", "--ceiling", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["ceiling"]["frames_per_s_at_bench_size"] == 50.0


def test_the_ceiling_says_up_front_what_it_renders_and_about_how_long(tmp_path, monkeypatch, capsys):
    """--ceiling printed nothing for as long as 1920x1080 at 64 spp took (hours on a CPU):
    now a line first says what it renders and, from the bare run's samples/s, about how long."""
    import headless.bench as bench

    monkeypatch.setattr(bench, "run_pipeline", lambda *a: {"steady_frames_per_s": 1.0, "median_frame_s": 1.0})
    calls = []

    def fake_bare(*a, **k):
        calls.append((k, capsys.readouterr().err))  # what was said before this render started
        return {"samples_per_s": 1920 * 1080 * 64 / 90, "device": {"type": "CPU"}, "steady_frames_per_s": 1.0}

    monkeypatch.setattr(bench, "run_bare", fake_bare)
    assert bench.main(["--frames", "3", "--ceiling", "--json", str(tmp_path / "b.json")]) == 0
    assert calls[1][0]["resolution"] == "1920x1080"
    said = calls[1][1]
    assert "1920x1080" in said and "64 spp" in said and "3 frame(s)" in said, said
    assert "about 4:30" in said and "on CPU" in said, said  # 3 frames x 90 s at the bare run's samples/s
    assert bench.main(["--frames", "3", "--no-bare", "--ceiling", "--json", str(tmp_path / "b.json")]) == 0
    assert "1920x1080" in calls[-1][1] and "about" not in calls[-1][1], calls[-1][1]  # nothing to estimate from


def test_a_bare_renders_progress_lines_reach_the_terminal_as_it_runs(capsys):
    """The bare render's process says each frame on stderr; run_bare passes those lines on
    (they were captured until it ended) and keeps the rest for a failure's message."""
    import headless.bench as bench

    script = (
        "import sys; print('bench: bare render: frame 1/2', file=sys.stderr, flush=True); "
        "print('blender noise', file=sys.stderr); print('{\"a\": 1}')"
    )
    code, out, tail = bench.run_forwarding_progress([sys.executable, "-c", script])
    assert code == 0 and out.strip() == '{"a": 1}' and "blender noise" in tail
    assert capsys.readouterr().err == "bench: bare render: frame 1/2\n"


def test_bench_lidar_lists_a_bad_files_problems_with_exit_2(tmp_path, capsys):
    """A missing or invalid parameter file gave bench_lidar a traceback (ConfigError): now
    its problems are listed as the command line lists them, exit 2."""
    from headless.bench_lidar import main as bench_lidar

    for text in (None, "[run]\nframes = 0\n"):
        param = tmp_path / "mine.toml"
        if text is not None:
            param.write_text(text)
        assert bench_lidar([str(param)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"{'1' if text is None else '2'} problem(s) in {param}:") and "Traceback" not in err, err


def test_bench_says_what_it_runs_before_each_run(tmp_path, monkeypatch, capsys):
    """The pipeline runs (minutes on a CPU) began without a word: each is said first."""
    import headless.bench as bench

    said = []
    monkeypatch.setattr(
        bench,
        "run_pipeline",
        lambda *a: said.append(capsys.readouterr().err) or {"steady_frames_per_s": 1.0, "median_frame_s": 1.0},
    )
    monkeypatch.setattr(
        bench,
        "run_bare",
        lambda *a, **k: said.append(capsys.readouterr().err) or {"samples_per_s": 1, "steady_frames_per_s": 1.0},
    )
    assert bench.main(["--frames", "3", "--procs", "1,2", "--json", str(tmp_path / "b.json")]) == 0
    assert "bench: pipeline: 3 frame(s), 1 render process(es)" in said[0], said
    assert "bench: pipeline: 3 frame(s), 2 render process(es)" in said[1], said
    assert "bench: bare render: 3 frame(s)" in said[2], said


def test_the_benchmarks_help_says_what_each_option_is_and_its_default(capsys):
    """bench_lidar's --help named its options only (no default, no word on what each is),
    and bench's --ceiling did not say it takes hours on a CPU."""
    import headless.bench as bench
    import headless.bench_lidar as bench_lidar

    with pytest.raises(SystemExit):
        bench_lidar.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for part in (
        "LiDAR scan against one Cycles render",
        "(default 640x480)",
        "(default 64)",
        "(default cpu)",
        "(default 2048)",
        "parameter file with [[lidars]] (default presets/examples/lidar_30_objects.toml)",
    ):
        assert part in text, (part, text)
    with pytest.raises(SystemExit):
        bench.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "up to 10 frames: hours on a CPU" in text, text


@pytest.mark.parametrize("option", ["--repeat", "--samples", "--channels", "--columns"])
def test_bench_lidar_counts_below_one_are_refused_naming_the_option(capsys, option):
    """--repeat 0 ended in a traceback after building the scene; --samples 0, --channels 0,
    --columns -1 were measured without a word: exit 2 naming the option, before the scene."""
    from headless.bench_lidar import main as bench_lidar

    with pytest.raises(SystemExit) as e:
        bench_lidar([option, "0"])
    assert e.value.code == 2
    assert f"argument {option}: 0: expected a whole number >= 1" in capsys.readouterr().err


def test_frames_rendered_while_the_workers_start_do_not_count_as_steady_frames():
    """One render process whose workers came up late: frames 0-4 rendered every 0.5 s from
    t = 5 and finished together at t = 11.4-11.5, frames 5-7 rendered after that at 2 frames/s.
    The burst is no rate the pipeline keeps: steady frames/s counts from its end (11.48) the
    three later frames, about 2 a second (not 7 frames in 1.1 s), and the median frame time is
    0.5 s; with too few frames there is none."""
    from headless.bench import median_frame_seconds, steady_rate

    burst = [{"frame": f, "started_unix": 5.0 + 0.5 * f, "finished_unix": 11.4 + 0.02 * f} for f in range(5)]
    later = [{"frame": 5 + i, "started_unix": 11.5 + 0.5 * i, "finished_unix": 11.9 + 0.5 * i} for i in range(3)]
    fps, window = steady_rate({"frames.jsonl": burst + later})
    assert fps == pytest.approx(3 / (12.9 - 11.48))
    assert 2.0 <= fps < 2.2
    assert median_frame_seconds(window) == pytest.approx(0.5)
    # Two processes: counted from the time both had finished one and the first's burst was done.
    other = [{"frame": 10 + i, "started_unix": 12.0 + 0.5 * i, "finished_unix": 12.4 + 0.5 * i} for i in range(3)]
    fps2, _ = steady_rate({"frames.jsonl": burst + later, "frames_1.jsonl": other})
    # From 12.4: frame 7 (12.9) of the first; of the second, 11 and 12.
    assert fps2 == pytest.approx(3 / (13.4 - 12.4))
    assert steady_rate({"frames.jsonl": burst}) == (None, [{"finished_unix": 11.48}])
    # A frame rendered ahead that finishes late (its worker slow to start) moves the window's
    # start to it: the time spent on it is not set against the frames counted.
    late = [*burst[:4], {**burst[4], "finished_unix": 12.0}]
    fps3, window3 = steady_rate({"frames.jsonl": late + later})
    assert window3[0] == {"finished_unix": 12.0} and fps3 == pytest.approx(2 / (12.9 - 12.0))


@pytest.mark.parametrize("code", [2, 1, 130])
def test_bench_sink_exits_as_the_render_of_its_frames_did(monkeypatch, capsys, code):
    """A render the input stops (--device cuda where Cycles finds none: the run exits 2) made
    bench_sink exit 1 as if it had failed; it now exits with the run's own status."""
    import headless.cli
    from headless.bench_sink import main

    monkeypatch.setattr(headless.cli, "main", lambda argv: code)
    assert _exit_status(main, ["--frames", "1", "--resolution", "16x12"]) == code
    assert "the render of the benchmark frames failed" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["missing", "folder"])
def test_bench_lidar_json_into_no_file_is_refused_before_the_scene(tmp_path, monkeypatch, capsys, where):
    """bench_lidar --json into a missing folder, or naming a folder, rendered the whole
    benchmark, then ended in a traceback where the figures were written: exit 2 first."""
    import headless.bench_lidar as bench_lidar

    monkeypatch.setattr(bench_lidar, "_measure", lambda *a: pytest.fail("measured"))
    target = tmp_path / "nodir" / "b.json" if where == "missing" else tmp_path
    assert _exit_status(bench_lidar.main, ["--json", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"--json {target}" in err and "Traceback" not in err, err


def test_a_steady_window_under_five_seconds_is_noted_and_sized():
    """r37: 120 frames at 1 spp with six processes left a steady window under 2 s, and
    two runs minutes apart read 71 and 46 frames/s. The row now says how many frames and
    seconds its frames/s comes from, and notes a window under 5 s (at the bound: no note)."""
    from headless.bench import STEADY_MIN_SECONDS, short_window_note

    assert STEADY_MIN_SECONDS == 5.0
    assert short_window_note(350, 5.0) is None
    note = short_window_note(96, 4.99)
    assert "96 frames over 4.99 s" in note and "use more frames" in note


def test_the_pipeline_row_counts_its_steady_window(monkeypatch, tmp_path):
    """run_pipeline's row: steady_frames and steady_seconds are the window steady_rate
    counted (one process, frames finishing every 0.5 s from t = 1: the window starts at the
    first, 1.0, and holds the 3 after it, 1.5 s), and the short window's note."""
    import subprocess
    import types

    from headless import bench

    out = tmp_path / "run"
    (out / "audit").mkdir(parents=True)
    lines = [
        {"frame": f, "started_unix": 0.5 + 0.5 * f, "finished_unix": 1.0 + 0.5 * f, "seconds": {}, "cpu_seconds": {}}
        for f in range(4)
    ]
    (out / "audit" / "frames.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))

    class Done:
        returncode = 0
        pid = 1

        def __init__(self, *a, **k):
            pass

        def communicate(self):
            return "", ""

    monkeypatch.setattr(subprocess, "Popen", Done)
    monkeypatch.setattr(bench, "PeakMemory", lambda pid: types.SimpleNamespace(stop=lambda: 1.0))
    monkeypatch.setattr(bench.time, "time", lambda: 0.0)
    args = types.SimpleNamespace(gpus=None, workers=None, worker_mode="auto", by_part=False)
    row = bench.run_pipeline(tmp_path / "bench.toml", out, 1, args)
    assert row["steady_frames"] == 3 and row["steady_seconds"] == 1.5
    assert row["steady_frames_per_s"] == 2.0
    assert "3 frames over 1.50 s" in row["note"]


def test_bench_call_cuts_a_call_at_its_events():
    from headless.bench_call import phases

    events = [
        (0.002, "render_init"),
        (0.003, "render_pre"),
        (0.006, "render_stats Synchronizing object | cube"),
        (0.007, "render_stats Initializing"),
        (0.010, "render_stats Sample 0/16"),
        (0.013, "render_stats Mem: 1435M | Sample 1/16"),
        (0.041, "render_stats Sample 16/16"),
        (0.042, "render_stats Finished"),
        (0.051, "render_stats Time: 00:00.05 (Saving: 00:00.01)"),
        (0.052, "render_post"),
    ]
    got = phases(events)
    want = {"before_init": 2, "init_to_sync": 5, "sync": 3, "first_sample": 3, "other_samples": 29, "saving": 10}
    assert got == pytest.approx(want)
    # One sample: its pass ends with "Sample 1/1"; where no "Sample 1/" comes, at "Finished".
    one = [e for e in events if "/16" not in e[1]] + [
        (0.0095, "render_stats Sample 0/1"),
        (0.020, "render_stats Sample 1/1"),
    ]
    got = phases(sorted(one))
    assert got["first_sample"] == pytest.approx(10.5) and got["other_samples"] == pytest.approx(22)
    got = phases(sorted(e for e in one if "Sample 1/1" not in e[1]))
    assert got["first_sample"] == pytest.approx(42 - 9.5) and got["other_samples"] is None
    assert phases([(0.001, "render_init")])["sync"] is None  # a call that said nothing more


@pytest.mark.parametrize("pool", ["run", "blender"])
def test_bench_call_times_every_phase_of_a_small_render(tmp_path, capsys, pool):
    pytest.importorskip("bpy")
    from headless.bench_call import main

    out = tmp_path / "call.json"
    args = ["--frames", "3", "--resolution", "64x48", "--samples", "2", "--device", "cpu", "--json", str(out)]
    assert main([*args, "--openexr-threads", pool]) == 0
    figures = json.loads(out.read_text())
    assert figures["openexr_threads"] == pool and figures["passes"] == ["depth", "instance", "rgb"]
    for row in figures["per_frame_ms"]:
        parts = [row[k] for k in ("before_init", "init_to_sync", "sync", "first_sample", "other_samples", "saving")]
        assert all(p is not None and p >= 0 for p in parts), row
        assert sum(parts) <= row["call"] and row["saving"] > 0
    assert set(figures["median_ms"]) >= {"apply", "call", "sync", "saving"}


def test_bench_blend_keeps_a_texture_already_in_its_folder(tmp_path):
    """bench_blend makes its .blend files and their tex/checker.png in the folder it is given;
    a file of that name already there (the user's) was overwritten: it is kept now."""
    pytest.importorskip("bpy")
    from headless import bench_blend

    (tmp_path / "tex").mkdir()
    mine = tmp_path / "tex" / "checker.png"
    mine.write_bytes(b"not the tool's")
    assert bench_blend.main([str(tmp_path), "20", "--append-up-to", "0"]) == 0
    assert (tmp_path / "objects_20.blend").exists()
    assert mine.read_bytes() == b"not the tool's"
