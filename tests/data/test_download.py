"""`download` against a local HTTP server on 127.0.0.1: the real hosts are never contacted."""
import functools
import gzip
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.data.download import download
from ganforge.errors import DataError

from . import write_idx_dataset


class _Handler(SimpleHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """(served folder, base URL, list of requested paths)."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "*")
    served = tmp_path / "served"
    served.mkdir()
    _Handler.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}/mirror", _Handler.requests
    httpd.shutdown()
    httpd.server_close()


def _mirror(served):
    folder = served / "mirror"
    return folder, write_idx_dataset(folder)


def test_download_then_load(server, tmp_path):
    served, url, requests = server
    mirror, arrays = _mirror(served)
    root = download("fashion-mnist", tmp_path / "data", base_url=url, progress=False)
    assert root == tmp_path / "data"
    assert sorted(p.name for p in root.iterdir()) == sorted(p.name for p in mirror.iterdir())
    for path in mirror.iterdir():
        assert (root / path.name).read_bytes() == path.read_bytes()
    data = build_dataset(DataConfig(name="fashion-mnist", root=str(root)))
    assert np.array_equal(data.samples[:, 0, 2:30, 2:30].numpy(), arrays["train-images-idx3-ubyte"])
    assert len(requests) == 4


def test_valid_files_are_skipped_invalid_ones_fetched_again(server, tmp_path):
    served, url, requests = server
    _mirror(served)
    root = download("mnist", tmp_path / "data", base_url=url + "/", progress=False)
    requests.clear()
    download("mnist", root, base_url=url, progress=False)
    assert requests == []
    (root / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    download("mnist", root, base_url=url, progress=False)
    assert requests == ["/mirror/t10k-labels-idx1-ubyte.gz"]


def _assert_no_partial_files(root):
    assert not [p for p in root.iterdir() if p.name.endswith(".part")]


def test_404_leaves_no_partial_file(server, tmp_path):
    served, url, _ = server
    mirror, _ = _mirror(served)
    (mirror / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"could not download .*/t10k-images-idx3-ubyte.gz: HTTP 404.*; kept the 2 "
                                        r"of 4 files fetched in .*data, run again to fetch the rest"):
        download("fashion-mnist", tmp_path / "data", base_url=url, progress=False)
    _assert_no_partial_files(tmp_path / "data")
    assert not (tmp_path / "data" / "t10k-images-idx3-ubyte.gz").exists()


def test_corrupt_download_is_removed(server, tmp_path):
    served, url, _ = server
    mirror, _ = _mirror(served)
    path = mirror / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-100]))
    with pytest.raises(DataError, match="could not download .*/train-images-idx3-ubyte.gz: corrupt.*trunc"):
        download("fashion-mnist", tmp_path / "data", base_url=url, progress=False)
    assert not (tmp_path / "data").exists()  # nothing fetched, so the folder it made is gone too


def test_unreachable_host_and_unknown_name(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "*")
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DataError, match=f"could not download http://127.0.0.1:{port}/.*; nothing was kept"):
        download("mnist", tmp_path / "data", base_url=f"http://127.0.0.1:{port}/", progress=False)
    assert not (tmp_path / "data").exists()
    with pytest.raises(DataError, match="known datasets are fashion-mnist, mnist"):
        download("cifar10", tmp_path / "data")
