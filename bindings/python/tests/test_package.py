"""The package as installed: the wheel (not the source tree), its tags,
`help()` showing real defaults, and the generated module kept private."""

import inspect
import re
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
        # manylinux2014 = glibc 2.17: every x86_64 Linux pip calls manylinux.
        assert platform in ("manylinux2014_x86_64", "manylinux_2_17_x86_64"), tag
    assert dist.metadata["Requires-Python"] == ">=3.9"


def test_native_library_needs_no_glibc_newer_than_2_17():
    # The tag is a promise the library must keep: a symbol versioned
    # GLIBC_2.18 or later would fail to load on the older systems the tag
    # admits. The ELF's version-requirement strings name every version it
    # needs (a library linked against this machine's glibc needs 2.34).
    files = metadata.files("crane-context") or []
    libs = [f for f in files if str(f).startswith("crane_context/_native/") and str(f).endswith(".so")]
    assert len(libs) == 1, libs
    data = Path(str(libs[0].locate())).read_bytes()
    minors = {int(m) for m in re.findall(rb"GLIBC_2\.([0-9]+)", data)}
    assert minors, "no GLIBC version requirements found"
    assert max(minors) <= 17, sorted(minors)


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
