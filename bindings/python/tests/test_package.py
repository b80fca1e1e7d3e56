"""The package as installed: the wheel (not the source tree), its tags,
`help()` showing real defaults, and the generated module kept private."""

import inspect
import pydoc
from importlib import metadata
from pathlib import Path

import crane_context as cc

from conftest import REPO_ROOT


def test_runs_against_the_installed_wheel_not_the_source_tree():
    installed = Path(cc.__file__).resolve()
    source = REPO_ROOT / "bindings" / "python" / "python"
    assert "site-packages" in installed.parts, installed
    assert source not in installed.parents, f"imported from the source tree: {installed}"
    files = {str(f) for f in metadata.files("crane-context") or []}
    assert "crane_context/py.typed" in files
    assert any(f.startswith("crane_context/_native/") and f.endswith(".so") for f in files), files


def test_wheel_tags_install_on_any_python3_x86_64_linux():
    dist = metadata.distribution("crane-context")
    wheel = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    assert tags, wheel
    for tag in tags:
        python, abi, platform = tag.split("-")
        # ctypes bindings: no CPython ABI, so one wheel serves every Python 3.
        assert (python, abi) == ("py3", "none"), tag
        assert platform.startswith("manylinux") and platform.endswith("_x86_64"), tag
    assert dist.metadata["Requires-Python"] == ">=3.9"


def test_help_shows_real_defaults_and_types():
    sig = str(inspect.signature(cc.Client.start_session))
    assert "track: Optional[int] = None" in sig
    assert "include_docs: bool = False" in sig and "auto_heartbeat: bool = True" in sig
    assert "object object at" not in pydoc.render_doc(cc.Client)
    assert "object object at" not in pydoc.render_doc(cc.AsyncClient)
    end = str(inspect.signature(cc.Session.end))
    assert "payload: Optional[Mapping[str, Any]] = None" in end
    init = str(inspect.signature(cc.Client.__init__))
    assert "url: Optional[str] = None" in init and "listener: Optional[Callable[[" in init


def test_public_names_hide_the_generated_module():
    for name in cc.__all__:
        obj = getattr(cc, name)
        module = getattr(obj, "__module__", "crane_context")
        assert not module.startswith("crane_context._native"), (name, module)
    assert not hasattr(cc, "CraneClient") and not hasattr(cc, "StartRequest")
