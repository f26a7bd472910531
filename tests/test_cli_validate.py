"""`python -m headless validate FILE`: exit 0 when valid, 2 listing every problem (the
scene built as render builds it, with bpy; --no-scene: the file alone, without)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from headless.cli import EXIT_INVALID, EXIT_OK, main

ROOT = Path(__file__).resolve().parent.parent

BAD = """
asset_list = "assets.toml"

[run]
frames = -1

[render]
samples = "many"

[[cameras]]
name = "cam"
location = [0, 0]

[[randomizers]]
type = "pose"
targets = "*"
location = { distribution = "uniform", low = [1, 1, 1], high = [0, 0, 0] }

[annotators]
rbg = {}
"""

BAD_LIST = """
[[assets]]
name = "cup"
file = "cup.obj"
"""


@pytest.mark.parametrize(
    "name",
    [
        "presets/default.toml",
        "presets/examples/minimal.toml",
        "presets/examples/minimal.json",
        "presets/examples/corner_cases.toml",
    ],
)
def test_valid_presets_exit_0(capsys, name):
    assert main(["validate", str(ROOT / name)]) == EXIT_OK == 0
    out, err = capsys.readouterr()
    assert out.strip().endswith("OK") and err == ""


def test_bad_file_exits_2_and_prints_every_problem_naming_its_file(tmp_path, capsys):
    main_file = tmp_path / "bad.toml"
    main_file.write_text(BAD, encoding="utf-8")
    (tmp_path / "assets.toml").write_text(BAD_LIST, encoding="utf-8")
    assert main(["validate", str(main_file)]) == EXIT_INVALID == 2
    out, err = capsys.readouterr()
    assert out == ""
    header, *lines = err.strip().splitlines()
    assert header == f"6 problem(s) in {main_file}:"
    m, a = main_file.as_posix(), (tmp_path / "assets.toml").as_posix()
    expected = [
        (m, "run.frames"),
        (m, "render.samples"),
        (m, "cameras[0].location"),
        (a, "assets[0].file"),
        (m, "randomizers[0].location.high"),
        (m, "annotators.rbg"),
    ]
    assert len(lines) == len(expected)
    for line, (file, field) in zip(lines, expected):
        assert line.startswith(f"  {file}: {field}: got "), line
        assert "; expected " in line
    assert f"looked for {(tmp_path / 'cup.obj').as_posix()}" in err
    assert "did you mean 'rgb'?" in err


def test_syntax_error_exits_2_naming_file_and_line(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text('{"run": {"seed": 1}\n "frames": 2}', encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path.as_posix()}: line 2, column 2: " in err


def test_missing_file_exits_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nothing.toml")]) == 2
    assert (tmp_path / "nothing.toml").as_posix() in capsys.readouterr().err


def test_a_blend_given_as_the_parameter_file_says_how_to_name_it(tmp_path, capsys):
    """`render shop.blend` (the scene one has) said only 'expected a parameter file ending in
    .toml or .json'; it now says how a parameter file names a .blend."""
    blend = tmp_path / "shop.blend"
    blend.write_bytes(b"BLENDER")
    assert main(["validate", "--no-scene", str(blend)]) == 2
    err = capsys.readouterr().err
    assert (
        'expected a parameter file ending in .toml or .json (a .blend is the base scene a parameter file names: [scene] blend = "shop.blend")'
        in err
    )


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2  # argparse: the file argument is required


@pytest.mark.parametrize("output", ["/", "~", "."])
def test_an_output_folder_render_always_refuses_is_a_problem_of_the_file(tmp_path, capsys, monkeypatch, output):
    """run.output "/" (the file system root), "~" (home) or "." (the working folder): render
    refuses them before writing anything, so validate says so (it said OK); with --out,
    render's own folder is checked instead."""
    monkeypatch.chdir(tmp_path)
    text = (
        (ROOT / "presets/default.toml")
        .read_text(encoding="utf-8")
        .replace('output = "out/default"', f'output = "{output}"')
    )
    param = tmp_path / "p.toml"
    param.write_text(text, encoding="utf-8")
    assert main(["validate", str(param)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert f'run.output: got "{output}"; expected a folder of the dataset\'s own' in err and "--out" in err
    assert main(["validate", str(param), "--out", str(tmp_path / "data")]) == EXIT_OK
    assert main(["validate", str(ROOT / "presets/default.toml"), "--out", output]) == EXIT_INVALID
    assert f'--out: got "{output}"' in capsys.readouterr().err
    # One folder down is a dataset's own folder.
    assert main(["validate", str(ROOT / "presets/default.toml"), "--out", str(tmp_path / "a")]) == EXIT_OK


def test_a_home_folder_of_no_user_here_is_said_not_a_traceback(tmp_path, capsys, monkeypatch):
    """'~alice/...' of a parameter file made on another machine, where this one has no user
    alice, ended every command in a traceback (pathlib's RuntimeError 'Could not determine
    home directory.', exit 1): validate and render at --out or run.output, an asset's file,
    preview and report. Each now says what is wrong (exit 2), nothing made."""
    monkeypatch.chdir(tmp_path)
    nobody = "~no_such_user_sdg"
    preset = str(ROOT / "presets/default.toml")
    for argv in (["validate", preset, "--out", f"{nobody}/ds"], ["render", preset, "--out", f"{nobody}/ds"]):
        assert main(argv) == EXIT_INVALID, argv
        err = capsys.readouterr().err
        assert f"'{nobody}' is no home folder on this system (no user 'no_such_user_sdg')" in err, err
    text = (ROOT / "presets/default.toml").read_text(encoding="utf-8")
    param = tmp_path / "p.toml"
    param.write_text(text.replace('output = "out/default"', f'output = "{nobody}/ds"'), encoding="utf-8")
    assert main(["validate", str(param)]) == EXIT_INVALID
    assert f'run.output: got "{nobody}/ds"; expected a folder render can make' in capsys.readouterr().err
    text = text.replace('primitive = "cylinder"', f'file = "{nobody}/mug.glb"', 1)
    param.write_text(text, encoding="utf-8")
    assert main(["validate", str(param), "--out", "data"]) == EXIT_INVALID
    assert f"'{nobody}' is no home folder on this system (a path of another machine?)" in capsys.readouterr().err
    for argv in (["preview", f"{nobody}/ds"], ["report", f"{nobody}/ds"]):
        assert main(argv) == EXIT_INVALID, argv
        assert f"not a folder: {nobody}/ds" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml"]


def test_validate_checks_the_render_device_as_render_does(tmp_path, capsys, monkeypatch):
    """validate --device takes render's values, and a device Cycles lacks here is refused in
    render's words (the scene is not built then: exit 2 at once); --no-scene leaves it to render."""
    from sdg_addon.capture import device

    preset = str(ROOT / "presets/default.toml")
    assert main(["validate", preset, "--device", "gpu"]) == EXIT_INVALID
    assert "error: --device 'gpu': expected one of ['auto', 'cpu'," in capsys.readouterr().err

    monkeypatch.setattr(device, "gpu_devices", lambda backend: [])  # no GPU here
    assert main(["validate", preset, "--device", "CUDA"]) == EXIT_INVALID
    said = capsys.readouterr()  # the value came from --device, not from render.device (the file's 'auto')
    assert said.err.startswith("error: --device 'cuda': Cycles found no CUDA device here (use 'auto'"), said.err
    assert said.out == ""
    assert main(["render", preset, "--device", "CUDA", "--out", str(tmp_path / "out")]) == EXIT_INVALID
    assert capsys.readouterr().err == said.err and not (tmp_path / "out").exists()
    assert main(["validate", preset, "--device", "cuda", "--no-scene"]) == EXIT_OK
    in_file = tmp_path / "cuda.toml"  # the file's own device is named as the file's field
    in_file.write_text(Path(preset).read_text(encoding="utf-8").replace('device = "auto"', 'device = "cuda"'))
    assert main(["validate", str(in_file)]) == EXIT_INVALID
    assert capsys.readouterr().err.startswith("error: render.device = 'cuda': Cycles found no CUDA device here")


def test_validate_without_bpy_checks_the_file_and_says_the_scene_was_not_built(capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "bpy", None)  # import bpy raises ImportError
    assert main(["validate", str(ROOT / "presets/default.toml")]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.strip().endswith("OK (the scene was not built: this Python has no bpy, which render needs)")


def test_validate_says_what_render_would_refuse_as_the_disk_is(tmp_path, capsys, monkeypatch):
    """validate --out FILE (an existing file), or a folder under a file, said OK where render
    refuses it before writing anything (exit 2): validate now says so, naming the file; a
    new folder, or an existing one (holding a dataset or not: that is the run's business,
    e.g. a --resume), is fine."""
    monkeypatch.chdir(tmp_path)
    preset = str(ROOT / "presets/default.toml")
    (tmp_path / "notes.txt").write_text("mine")
    for out in ("notes.txt", "notes.txt/data"):
        capsys.readouterr()
        assert main(["validate", preset, "--out", out]) == EXIT_INVALID
        err = capsys.readouterr().err
        assert f'--out: got "{out}"; expected a folder render can make' in err and "is a file, not a folder" in err
        assert main(["render", preset, "--out", out, "--quiet"]) == EXIT_INVALID  # as render says
    (tmp_path / "existing").mkdir()
    (tmp_path / "existing" / "x.png").write_bytes(b"")
    for out in ("new/data", "existing"):
        assert main(["validate", preset, "--out", out]) == EXIT_OK
    assert (tmp_path / "notes.txt").read_text() == "mine" and not (tmp_path / "new").exists()


def test_a_single_process_prints_its_progress_line_at_most_once_a_second(capsys):
    """A run printed one progress line per frame (70 a second on a GPU: a million lines in a
    long run's log); now at most one a second, as a parallel run's parent, and the last."""
    from headless.cli import ProgressLines
    from sdg_addon.progress import Progress

    now = [0.0]
    progress = Progress(10, clock=lambda: now[0])
    lines = ProgressLines(clock=lambda: now[0])
    for _ in range(10):
        now[0] += 0.3
        progress.advance()
        lines(progress)
    printed = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in printed] == ["frames 1/10", "frames 5/10", "frames 9/10", "frames 10/10"]
    ProgressLines(quiet=True)(progress)
    assert capsys.readouterr().out == ""


def test_the_shard_help_and_docs_give_the_rule_for_clips_too(capsys):
    """--help and docs/scale.md said a shard renders frames f with f % N == I; a sequence's
    shards take whole clips (clip c goes to shard c % N), so both say that too."""
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "f % N == I" in help_text and "clip c (frames c*K .. c*K+K-1) goes to shard c % N" in help_text
    scale = " ".join((Path(__file__).resolve().parent.parent / "docs" / "scale.md").read_text().split())
    assert "clip c of `sequence.clip_length` K frames goes to shard `c % N`" in scale


def test_a_negative_shard_is_told_what_a_shard_is(tmp_path, capsys):
    """`--shard -1/2` got argparse's "expected one argument" (a value starting with '-' is
    an option to it); it is now told the shards' rule, exit 2, nothing written. A value
    after --shard that is no shard stays argparse's."""
    from headless.cli import _joined_shard_values

    param = Path(__file__).resolve().parent.parent / "presets" / "default.toml"
    out = tmp_path / "out"
    assert main(["render", str(param), "--shard", "-1/2", "--out", str(out)]) == EXIT_INVALID
    assert "--shard '-1/2': expected I/N with 0 <= I < N (shards count from 0: 0/2 .. 1/2)" in capsys.readouterr().err
    assert not out.exists()
    assert _joined_shard_values(["render", "p", "--shard", "-1/2", "-q"]) == ["render", "p", "--shard=-1/2", "-q"]
    assert _joined_shard_values(["render", "p", "--shard", "--quiet"]) == ["render", "p", "--shard", "--quiet"]
    assert _joined_shard_values(["render", "p", "--shard"]) == ["render", "p", "--shard"]


def test_help_gives_the_exit_codes_and_what_each_argument_is(capsys):
    """--help named no exit code, and FILE of validate / render / merge had no word of help."""
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for part in (
        "exit codes: 0 done, 1 failed",
        "2 invalid input (nothing written",
        "130 interrupted by Ctrl-C",
        "143",
    ):
        assert part in text, (part, text)
    for command in ("validate", "render", "merge"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "file the parameter file (.toml or .json" in text, (command, text)


def test_a_closed_stdout_does_not_stop_the_run(monkeypatch, capsys):
    """`render ... | head -1`: once the reader had gone, the next progress line raised
    BrokenPipeError inside the run, which stopped as a failure of the output folder ("cannot
    write to OUT: Broken pipe", exit 1, half the frames). Lines to a stdout that is gone are
    dropped (it points at the null device from then on) and the run goes on."""
    import os

    from headless.cli import ProgressLines, say
    from sdg_addon.progress import Progress

    read, write = os.pipe()
    os.close(read)  # the reader has gone
    stdout = os.fdopen(write, "w")
    monkeypatch.setattr("sys.stdout", stdout)
    progress = Progress(2)
    progress.advance()
    ProgressLines()(progress)  # raised BrokenPipeError
    progress.advance()
    ProgressLines()(progress)
    say("done: 2 frame(s) written")
    stdout.flush()  # the null device now: nothing raised at exit either


def test_a_closed_stdout_ends_validate_and_report_with_their_own_exit_code(tmp_path, monkeypatch):
    """`validate FILE | true`, `report DIR | true`: the last line, printed once the work was
    done, ended in a BrokenPipeError traceback, exit 1; now the command's own exit code."""
    import os

    from test_writers_formats import make_frame

    from sdg_addon.writers import create_writer

    good = Path(__file__).resolve().parent.parent / "presets" / "examples" / "minimal.toml"
    out = tmp_path / "ds"
    create_writer("basic", out).write(make_frame(0))
    for argv in (["validate", str(good)], ["report", str(out)]):
        read, write = os.pipe()
        os.close(read)
        stdout = os.fdopen(write, "w")
        monkeypatch.setattr("sys.stdout", stdout)
        assert main(argv) == EXIT_OK, argv
        stdout.flush()  # at the process's exit: raised BrokenPipeError (a terminal's stdout is line-buffered: at once)


def test_the_reference_transcript_is_what_validate_prints(tmp_path, monkeypatch, capsys):
    """docs/parameters.md's `validate` session (four problems, one in the asset list, and a
    syntax error) is what the command prints today, with the page's /data for the folder
    and `(known: ...)` for the list of known keys."""
    text = (ROOT / "docs" / "parameters.md").read_text(encoding="utf-8")
    session = re.search(r"^\$ python -m headless validate scene.toml\n(.*?)^```", text, re.S | re.M).group(1)
    syntax = re.search(r"shows the line:\n`(/data/scene.toml: line 3, .*?)`\.", text).group(1)
    data = tmp_path / "data"
    (data / "lists").mkdir(parents=True)
    (data / "scene.toml").write_text(
        'asset_list = "lists/assets.toml"\n[run]\nframes = 0\n[render]\nsampels = 4\n'
        '[[cameras]]\nname = "camera"\nlocation = [0, -2, 1]\n'
        '[[randomizers]]\ntype = "material"\ntargets = "*"\n'
        '[[randomizers]]\ntype = "pose"\ntargets = "*"\n'
        'location = { distribution = "uniform", low = [1, 0, 0], high = [0, 1] }\n',
        encoding="utf-8",
    )
    (data / "lists" / "assets.toml").write_text(
        '[[assets]]\nname = "a"\nprimitive = "cube"\n[[assets]]\nname = "b"\nprimitive = "cube"\n'
        '[[assets]]\nname = "cup"\nfile = "../models/cup.obj"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(data)

    def printed() -> str:
        err = capsys.readouterr().err.replace(data.resolve().as_posix(), "/data")
        return re.sub(r"\(known: [^)]*\)", "(known: ...)", err)

    assert main(["validate", "scene.toml"]) == EXIT_INVALID
    assert printed() == session
    (data / "scene.toml").write_text("[run]\nseed = 1\nframes = = 3\n", encoding="utf-8")
    assert main(["validate", "scene.toml"]) == EXIT_INVALID
    assert syntax in printed()


def test_the_pages_name_the_exit_codes_the_command_line_says():
    """README's, docs/reliability.md's and docs/parameters.md's exit codes are the ones
    `python -m headless --help` lists (README's lacked 143, SIGTERM)."""
    from headless.cli import build_parser

    def codes(text: str) -> set[str]:
        return set(re.findall(r"\b(\d{1,3})\b", text))

    said = codes(build_parser().epilog)
    assert said == {"0", "1", "2", "130", "143"}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    reliability = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    reference = (ROOT / "docs" / "parameters.md").read_text(encoding="utf-8")
    assert codes(re.search(r"Exit codes: (.*?)\(", readme, re.S).group(1)) == said
    assert codes(re.search(r"Exit codes: (.*?)\n\n", reliability, re.S).group(1)) == said
    table = reference.split("## Validation and exit codes")[1].split("\n## ")[0]
    assert set(re.findall(r"^\| (\d+) \|", table, re.M)) == said


@pytest.mark.parametrize("signum, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_ctrl_c_while_validate_builds_the_scene_is_honoured_once_it_is_built(capsys, monkeypatch, signum, code):
    """Ctrl-C (or SIGTERM) while validate loaded bpy and built the scene raised a
    KeyboardInterrupt inside them: during bpy's import of its add-ons the process crashed
    (exit 139 after their tracebacks). It is noted and honoured once the scene is built, as a
    run's is: exit 130 (143), one line, nothing written; the handlers before are given back."""
    import os
    import signal

    from headless import cli

    real, finished = cli._check_scene, []

    def interrupted_meanwhile(*args):
        os.kill(os.getpid(), getattr(signal, signum))  # as Ctrl-C would, inside Blender's loading
        finished.append(real(*args))
        return finished[-1]

    monkeypatch.setattr(cli, "_check_scene", interrupted_meanwhile)
    before = signal.getsignal(signal.SIGINT)
    assert main(["validate", str(ROOT / "presets/default.toml")]) == code
    said = capsys.readouterr()
    assert finished == [EXIT_OK] and said.out == ""
    assert said.err == "\ninterrupted: validate stopped once the scene was built (it writes nothing); run it again\n"
    assert signal.getsignal(signal.SIGINT) is before


def test_the_exit_code_table_says_validate_is_interrupted_too():
    """docs/parameters.md's exit codes of validate and render: 130 and 143 are validate's too
    (test_ctrl_c_while_validate_builds_the_scene_is_honoured_once_it_is_built), not 'render only'."""
    text = (ROOT / "docs/parameters.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if re.match(r"\| 1[34][03] \|", line)}
    assert "`validate`" in rows["130"] and "only" not in rows["130"], rows["130"]
    assert "as 130" in rows["143"] and "only" not in rows["143"], rows["143"]


def test_a_name_the_output_encoding_lacks_is_printed_escaped_not_a_traceback(tmp_path):
    """stdout in an encoding without the file's name (Windows writes a redirected stdout in
    its code page; PYTHONIOENCODING=ascii here): 'p_データ.toml: OK' ended in a
    UnicodeEncodeError traceback, exit 1 (render: after every frame was written, at its
    'done: ... -> OUT' line). It is printed escaped, as Python's stderr does, exit 0."""
    import os
    import subprocess
    import sys

    p = tmp_path / "p_\u30c7\u30fc\u30bf.toml"
    p.write_text((ROOT / "presets" / "examples" / "minimal.toml").read_text(encoding="utf-8"), encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "headless", "validate", "--no-scene", str(p)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == EXIT_OK, done.stderr.decode(errors="replace")
    assert b"p_\\u30c7\\u30fc\\u30bf.toml: OK" in done.stdout


def test_a_stdout_whose_descriptor_was_moved_under_it_is_kept_not_a_traceback(tmp_path):
    """A stdout opened on /dev/null (seekable) whose descriptor 1 was then replaced by a pipe
    (bench_sink's stdout_to_stderr under `2>&1 >/dev/null`): reconfiguring it asked the pipe
    for its place, OSError 'Illegal seek', a traceback before anything ran. It is kept as
    it is, and the command runs."""
    import os
    import subprocess
    import sys

    script = (
        "import os, sys\n"
        "r, w = os.pipe()\n"
        "os.dup2(w, 1)\n"
        "from headless.cli import main\n"
        "sys.exit(main(['validate', '--no-scene', sys.argv[1]]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(ROOT / "presets" / "examples" / "minimal.toml")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=120,
    )
    assert done.returncode == EXIT_OK, done.stderr.decode(errors="replace")
    assert b"Illegal seek" not in done.stderr


def test_validate_says_a_coco_channel_and_an_annotator_nothing_writes(tmp_path, capsys):
    """The built scene's checks of what the writers write: a coco channel the run does not
    compute is refused (exit 2, nothing written); an annotator no writer of the run writes
    (keypoints with yolo alone) is a warning (exit 0)."""
    preset = (ROOT / "presets" / "examples" / "minimal.toml").read_text(encoding="utf-8")
    channel = tmp_path / "channel.toml"
    channel.write_text(preset.replace("basic = {}", 'coco = { channels = ["normals"] }'), encoding="utf-8")
    assert main(["validate", str(channel), "--out", str(tmp_path / "o"), "--device", "cpu"]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert 'writers.coco.channels[0]: got "normals"; expected an annotator the run computes' in err, err
    kept = tmp_path / "kept.toml"
    kept.write_text(preset.replace("basic = {}", "yolo = {}").replace("rgb = {}", "rgb = {}\nnormals = {}"))
    assert main(["validate", str(kept), "--out", str(tmp_path / "o"), "--device", "cpu"]) == EXIT_OK
    assert "WARNING: annotators.normals: no writer of the run writes it (writers: yolo)" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_the_default_output_of_a_file_named_as_a_windows_device_is_a_name_every_system_takes(
    tmp_path, capsys, monkeypatch
):
    """A parameter file naming no run.output writes into out/<its name>: aux.toml's was
    out/aux, con.json's out/con, which Windows cannot make (AUX, CON, NUL, COM1, LPT9 are
    devices there, with any extension and in any case), and 'my scene.toml''s a folder with
    a space. The name goes through the one path sanitizer (safe_name), and validate and
    render say which folder it became; a plain name stays as it is, without a word."""
    import json
    import tomllib

    from sdg_addon.config import load_config
    from sdg_addon.writers.paths import safe_name

    monkeypatch.chdir(tmp_path)
    text = (ROOT / "presets/default.toml").read_text(encoding="utf-8").replace('output = "out/default"\n', "")
    for name in ("aux.toml", "con.json", "nul.toml", "com1.toml", "LPT9.toml", "Aux.old.toml", "my scene.toml"):
        param = tmp_path / name
        if name.endswith(".json"):
            param.write_text(json.dumps(tomllib.loads(text)), encoding="utf-8")
        else:
            param.write_text(text, encoding="utf-8")
        stem = param.stem
        output = load_config(param).output
        assert output == f"out/{safe_name(stem)}" and output != f"out/{stem}", output
        assert main(["validate", str(param), "--no-scene"]) == EXIT_OK
        said = capsys.readouterr().out
        assert f"output folder {output}: run.output is not given and the file's name {stem!r}" in said, said
        # render and merge name it as they take it (merge: before it finds no frames there)
        assert main(["merge", str(param)]) == EXIT_INVALID
        said = capsys.readouterr()
        assert f"output folder {output}: run.output is not given" in said.out and output in said.err, said
    plain = tmp_path / "base.toml"
    plain.write_text(text, encoding="utf-8")
    assert load_config(plain).output == "out/base"
    assert main(["validate", str(plain), "--no-scene"]) == EXIT_OK
    assert "output folder" not in capsys.readouterr().out


def test_a_locale_whose_file_names_are_not_utf8_is_said(tmp_path, capsys, monkeypatch):
    """Under a locale of another encoding (LC_ALL=de_DE.ISO-8859-1) Python reads file names
    in it: a parameter file naming 'módels ✓/cube.obj' (UTF-8) ended validate and render in
    a UnicodeEncodeError traceback ('latin-1' codec can't encode character '\\u2713'), and
    'café/cube.obj' was looked for as other bytes than the UTF-8 name on disk: 'an existing
    file' without a word of why. Both now say how file names are read and the way out."""
    import sys

    import headless.cli as cli

    monkeypatch.setattr(sys, "getfilesystemencoding", lambda: "iso8859-1")
    monkeypatch.setenv("LC_ALL", "de_DE.ISO-8859-1")
    param = tmp_path / "p.toml"
    param.write_text(
        '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n[[assets]]\nname = "a"\nfile = "café/cube.obj"\n',
        encoding="utf-8",
    )
    assert main(["validate", str(param), "--no-scene"]) == EXIT_INVALID
    err = capsys.readouterr().err
    way_out = (
        "this system's file names are read as iso8859-1 (the locale's: LC_ALL=de_DE.ISO-8859-1), parameter "
        "files as UTF-8: run with a UTF-8 locale (LC_ALL=C.UTF-8) or PYTHONUTF8=1"
    )
    assert 'assets[0].file: got "café/cube.obj"' in err and way_out in err, err

    def unencodable(args):
        raise UnicodeEncodeError("latin-1", "/p/módels ✓", 10, 11, "ordinal not in range(256)")

    monkeypatch.setattr(cli, "_command", unencodable)
    assert main(["validate", str(param), "--no-scene"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: '/p/módels ✓' holds '✓', which no file name here can hold: " + way_out), err


def test_validate_says_the_notes_the_parameter_file_alone_tells_as_render_does(tmp_path, capsys):
    """The warnings render gave of the file alone (val_every sending every frame to val, clips
    cut between train and val, yolo images under 10 pixels, flow in stills, motion of nothing,
    rigid_body in stills) were said by render only, after validate's OK; validate says them
    (recorder.file_notes, one function for both), with and without the scene built."""
    preset = (ROOT / "presets" / "examples" / "minimal.toml").read_text(encoding="utf-8")
    stills = tmp_path / "stills.toml"
    stills.write_text(
        preset.replace("resolution = [320, 240]", "resolution = [9, 12]")
        .replace("basic = {}", "yolo = { val_every = 1 }\nbasic = {}")
        .replace("rgb = {}", "rgb = {}\nforward_flow = {}\nmotion_vectors = {}")
        + "\n[sequence]\nrigid_body = true\n",
        encoding="utf-8",
    )
    clips = tmp_path / "clips.toml"
    clips.write_text(preset.replace("basic = {}", "coco = { val_every = 2 }") + "\n[sequence]\nclip_length = 2\n")
    said = {
        stills: [
            "WARNING: writers send every frame to the val split: yolo (val_every = 1",
            "WARNING: yolo: images of 9 x 12 pixels",
            "WARNING: forward_flow in a run of stills",
            "WARNING: motion_vectors where nothing moves",
            "WARNING: sequence.rigid_body in a run of stills",
        ],
        clips: ["WARNING: coco (val_every = 2) split by run frame, also inside the run's clips of 2 frames"],
    }
    for param, notes in said.items():
        for flags in (["--device", "cpu"], ["--no-scene"]):
            assert main(["validate", str(param), "--out", str(tmp_path / "o"), *flags]) == EXIT_OK
            err = capsys.readouterr().err
            for note in notes:
                assert err.count(note) == 1, (flags, note, err)
    assert not (tmp_path / "o").exists()


def test_a_lights_data_set_by_a_property_entry_and_a_light_entry_is_said(tmp_path, capsys):
    """A property entry on a light's data.color and a light entry's temperature (or color)
    both set its colour each frame: the later one wins and the earlier one shows in no frame,
    without a word; validate (and render) now name both entries, in either order; a camera
    entry's focal_length and a property's data.lens alike, a pose's location and a property's."""
    preset = (ROOT / "presets" / "examples" / "minimal.toml").read_text(encoding="utf-8")
    prop = '\n[[randomizers]]\ntype = "property"\ntargets = "sun"\npath = "data.{}"\nvalue = {}\n'
    light = '\n[[randomizers]]\ntype = "light"\ntargets = "sun"\n{}\n'
    red, warm = prop.format("color", "[1.0, 0.0, 0.0]"), light.format("temperature = 3000")
    cases = {
        red + warm: "randomizers[2] (property, path data.color) and randomizers[3] (light, `temperature`) both set "
        "data.color of sun: the later entry wins each frame, so randomizers[2]'s value shows in no frame",
        light.format("color = [0, 1, 0]\ntemperature = 3000") + red: "randomizers[2] (light, `color` and "
        "`temperature`) and randomizers[3] (property, path data.color) both set data.color of sun",
        prop.format("energy", "5.0") + light.format("energy = 2.0"): "both set data.energy of sun",
        prop.format("energy", "5.0") + warm: None,  # other properties: both show
        '\n[[randomizers]]\ntype = "camera"\ntargets = "camera"\nfocal_length = 50\n'
        + prop.format("lens", "35.0").replace('"sun"', '"camera"'): "randomizers[2] (camera, `focal_length`) and "
        "randomizers[3] (property, path data.lens) both set data.lens of camera",
        prop.format("location", "[0, 0, 0.5]")
        .replace('"sun"', '"ball_*"')
        .replace("data.", ""): "randomizers[0] (pose, `location`) and "
        "randomizers[2] (property, path location) both set location of ball_000, ball_001, ball_002: the later "
        "entry wins each frame, so randomizers[0]'s value shows in no frame",
        prop.format("location[2]", "0.5")
        .replace('"sun"', '"ball_*"')
        .replace("data.", ""): "both set location[2] of ball_000, ball_001, "
        "ball_002: the later entry wins each frame, so randomizers[0]'s value there shows in no frame",
    }
    for n, (entries, said) in enumerate(cases.items()):
        param = tmp_path / f"p{n}.toml"
        param.write_text(preset + entries, encoding="utf-8")
        assert main(["validate", str(param), "--out", str(tmp_path / "o"), "--device", "cpu"]) == EXIT_OK
        err = capsys.readouterr().err
        if said is None:
            assert "both set data." not in err, err
        else:
            assert err.count(said) == 1, err


def test_validate_says_the_notes_of_the_built_scene_as_render_does(tmp_path, capsys):
    """The warnings of the built scene (objects without labels, an asset's copies that no
    entry places, the base scene's notes) were said by render only, after validate's OK:
    validate builds the scene as render does and now says them (warn_built_scene_notes)."""
    preset = (ROOT / "presets" / "examples" / "minimal.toml").read_text(encoding="utf-8")
    param = tmp_path / "boxes.toml"
    param.write_text(preset + '\n[[assets]]\nname = "box"\nprimitive = "cube"\nsize = 0.1\ncount = 2\n')
    assert main(["validate", str(param), "--out", str(tmp_path / "o"), "--device", "cpu"]) == EXIT_OK
    err = capsys.readouterr().err
    assert err.count("WARNING: objects without a 'class' label (annotated as UNLABELLED): box_000, box_001") == 1
    assert err.count("WARNING: assets[1] (box): box_000, box_001 are built at one place") == 1, err
    assert not (tmp_path / "o").exists()


def test_validate_says_bops_obj_id_note_of_the_label_table_render_says_once(tmp_path, capsys):
    """The bop writer's note of classes named as a BOP dataset's models written with other
    obj_ids was said at its first frame only, though the label table is whole once the scene
    is built: validate says it now, and render once (the writer's own is the same text)."""
    preset = (ROOT / "presets" / "examples" / "minimal.toml").read_text(encoding="utf-8")
    param = tmp_path / "bop.toml"
    param.write_text(
        preset.replace('class = "ball"', 'class = "obj_000005"')
        .replace("basic = {}", "bop = {}")
        .replace("resolution = [320, 240]", "resolution = [32, 24]")
        .replace("frames = 4", "frames = 1")
        .replace("samples = 16", "samples = 1"),
        encoding="utf-8",
    )
    note = "WARNING: bop: classes named as a BOP dataset's models are written with other obj_ids (obj_000005 as 1)"
    assert main(["validate", str(param), "--out", str(tmp_path / "o"), "--device", "cpu"]) == EXIT_OK
    assert capsys.readouterr().err.count(note) == 1
    assert main(["render", str(param), "--out", str(tmp_path / "o"), "--device", "cpu", "--quiet"]) == EXIT_OK
    assert capsys.readouterr().err.count(note) == 1


def test_validate_says_kittis_unpaired_stereo_rig_render_says_once(tmp_path, capsys):
    """kitti's note of a camera rigged beside another, looking the same way, that is no
    rectified pair (another lens: 50 mm beside 35 mm) was said while writing frames only,
    though the built scene's cameras tell it: validate says it now, and render once (the
    writer's own is the same text); one lens is a pair, and nothing is said."""
    rig = (
        "[run]\nframes = 1\n[render]\nresolution = [32, 24]\nsamples = 1\n[scene]\nground = false\n"
        '[[cameras]]\nname = "left"\nlocation = [0.3, -2.0, 1.2]\nlook_at = [0.0, 0.0, 0.3]\n'
        '[[cameras]]\nname = "right"\nrig = "left"\nlocation = [0.25, 0, 0]\n{lens}'
        '[[assets]]\nname = "ball"\nprimitive = "sphere"\nsize = 0.08\nlabels = {{ class = "ball" }}\n'
        "[annotators]\nrgb = {{}}\n[writers]\nkitti = {{}}\n"
    )
    note = (
        "WARNING: kitti: camera 'right' is rigged beside 'left' looking the same way, but the two are no "
        "rectified pair (another image size, focal length or principal point, or 'left' no visible camera"
    )
    param = tmp_path / "rig.toml"
    param.write_text(rig.format(lens="focal_length = 50\n"), encoding="utf-8")
    assert main(["validate", str(param), "--out", str(tmp_path / "o"), "--device", "cpu"]) == EXIT_OK
    assert capsys.readouterr().err.count(note) == 1
    assert not (tmp_path / "o").exists()
    assert main(["render", str(param), "--out", str(tmp_path / "o"), "--device", "cpu", "--quiet"]) == EXIT_OK
    assert capsys.readouterr().err.count(note) == 1
    assert not (tmp_path / "o" / "kitti" / "left" / "training" / "image_3").exists()  # no pair indeed
    param.write_text(rig.format(lens=""), encoding="utf-8")  # one lens: a pair
    assert main(["validate", str(param), "--out", str(tmp_path / "p"), "--device", "cpu"]) == EXIT_OK
    assert "rectified pair" not in capsys.readouterr().err
    assert main(["render", str(param), "--out", str(tmp_path / "p"), "--device", "cpu", "--quiet"]) == EXIT_OK
    assert "rectified pair" not in capsys.readouterr().err
    assert (tmp_path / "p" / "kitti" / "left" / "training" / "image_3" / "000000.png").is_file()


def test_a_worlds_background_set_by_a_world_entry_and_a_world_property_is_said(tmp_path, capsys):
    """A world entry's color and a world_property on its Background node's Color both set it
    each frame: the later wins, the earlier shows in no frame, without a word; validate (and
    render) now name both entries; another input (Strength beside a color alone) is fine."""
    preset = (ROOT / "presets" / "examples" / "minimal.toml").read_text(encoding="utf-8")
    world = '\n[[randomizers]]\ntype = "world"\ncolor = [0.1, 0.1, 0.9]\n'
    prop = '\n[[randomizers]]\ntype = "world_property"\npath = \'node_tree.nodes["Background"].inputs["{}"].default_value\'\nvalue = {}\n'
    cases = {
        world + prop.format("Color", "[1.0, 0.0, 0.0, 1.0]"): "randomizers[2] (world, `color`) and randomizers[3] "
        '(world_property, path node_tree.nodes["Background"].inputs["Color"].default_value) both set the color '
        "of the world's Background node 'Background': the later entry wins each frame",
        world + prop.format("Strength", "2.0"): None,
    }
    for n, (entries, said) in enumerate(cases.items()):
        param = tmp_path / f"w{n}.toml"
        param.write_text(preset + entries, encoding="utf-8")
        assert main(["validate", str(param), "--out", str(tmp_path / "o"), "--device", "cpu"]) == EXIT_OK
        err = capsys.readouterr().err
        assert err.count(said) == 1 if said else "Background node" not in err, err
