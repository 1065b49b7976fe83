"""Progress on stderr: plain lines when it is not a terminal, a bar when it is."""
import io

import pytest

from ganforge.engine.progress import Bar, Lines, Silent, make_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_file_gets_plain_lines_not_carriage_returns():
    stream = io.StringIO()
    progress = make_progress(total=4, initial=0, enabled=True, stream=stream, every_seconds=0.0)
    assert isinstance(progress, Lines)
    progress.update()
    progress.show({"d": "0.500", "g": "1.250"})
    progress.update()
    progress.close()
    text = stream.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[0].startswith("step 1/4 (25%)") and lines[1].startswith("step 2/4 (50%)  d=0.500 g=1.250  ")
    assert len(lines) == 2  # close adds no line for a step already printed


def test_lines_wait_between_prints_and_close_prints_the_last_step():
    stream = io.StringIO()
    progress = Lines(total=1000, initial=100, stream=stream, every_seconds=3600.0)
    for _ in range(50):
        progress.update()
    assert stream.getvalue() == ""
    progress.close()
    assert stream.getvalue().startswith("step 150/1000 (15%)") and stream.getvalue().count("\n") == 1


@pytest.mark.parametrize("enabled, stream, kind", [(True, Terminal(), Bar), (False, io.StringIO(), Silent),
                                                   (False, Terminal(), Silent)])
def test_the_kind_of_progress_follows_the_stream(enabled, stream, kind):
    progress = make_progress(10, 0, enabled, stream)
    assert isinstance(progress, kind)
    progress.close()


def test_a_training_run_logs_plain_lines_to_a_redirected_stderr(tmp_path, capsys):
    from ganforge.config import make_config
    from ganforge.engine.loop import train

    from ..runs import toy_overrides

    train(make_config({}, toy_overrides(tmp_path, steps=20)), run_dir=tmp_path / "run", progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err and err.splitlines()[-1].startswith("step 20/20 (100%)  d=")
