"""Cheaper conversion of call arguments and results across the FFI.

Every record, optional and string uniffi passes by value crosses the FFI as a
``RustBuffer`` of bytes. The generated module reads one by slicing the ctypes
pointer once per field (a new ctypes operation per integer and per string)
and writes one through a buffer allocated in Rust up front and grown by
further FFI calls, with a generator context manager around every write. In a
profile of blocking latest-handoff calls those converters were the largest
part of the Python side (lowering the query ~10 %, lifting the handoff ~20 %
of the samples).

This module replaces them with the same byte format done the plain way: a
result buffer is copied into a ``bytes`` object once (``ctypes.string_at``)
and read with precompiled ``struct`` formats; an argument is assembled in a
``bytearray`` and copied into one buffer allocated in Rust at the exact size.
The buffers are freed exactly where the generated code frees them (a result
after it is read, even when reading fails; an argument by the callee). The
status every FFI call passes Rust is made zero-filled by ctypes (what
``_UniffiRustCallStatus.default()`` built field by field: success, an empty
error buffer) — a tenth of the cost, several times per SDK call.

Like ``_fastasync`` it relies on names private to uniffi's generated module;
:func:`install` checks they are there and otherwise leaves the generated code
in place (slower, still correct), and ``tests/test_fast_paths.py`` fails if
it was not installed.
"""

import ctypes
import struct
from typing import Any, Callable, Dict

_REQUIRED = (
    "_UniffiRustBuffer",
    "_UniffiRustCallStatus",
    "_UniffiRustBufferStream",
    "_UniffiRustBufferBuilder",
    "_UniffiConverterRustBuffer",
    "_UniffiFfiConverterString",
    "InternalError",
)

#: Whether :func:`install` replaced the generated converters.
installed = False

_FORMATS = {
    "i8": struct.Struct(">b"),
    "u8": struct.Struct(">B"),
    "i16": struct.Struct(">h"),
    "u16": struct.Struct(">H"),
    "i32": struct.Struct(">i"),
    "u32": struct.Struct(">I"),
    "i64": struct.Struct(">q"),
    "u64": struct.Struct(">Q"),
    "float": struct.Struct(">f"),
    "double": struct.Struct(">d"),
}


def _stream_class(internal_error: Any) -> Any:
    """A reader with the generated ``_UniffiRustBufferStream``'s methods over a ``bytes`` copy."""

    class Stream:
        __slots__ = ("data", "len", "offset")

        def __init__(self, data: bytes, length: int) -> None:
            self.data = data
            self.len = length
            self.offset = 0

        @classmethod
        def from_rust_buffer(cls, buf: Any) -> "Stream":
            length = buf.len
            return cls(ctypes.string_at(buf.data, length) if length else b"", length)

        def remaining(self) -> int:
            return self.len - self.offset

        def read(self, size: int) -> bytes:
            start = self.offset
            end = start + size
            if end > self.len or size < 0:
                raise internal_error("read past end of rust buffer")
            self.offset = end
            return self.data[start:end]

    def reader(fmt: struct.Struct) -> Callable[[Stream], Any]:
        size, unpack = fmt.size, fmt.unpack_from

        def read(self: Stream) -> Any:
            start = self.offset
            if start + size > self.len:
                raise internal_error("read past end of rust buffer")
            self.offset = start + size
            return unpack(self.data, start)[0]

        return read

    for name, fmt in _FORMATS.items():
        setattr(Stream, "read_" + name, reader(fmt))
    return Stream


def _builder_class(rust_buffer: Any) -> Any:
    """A writer with the generated ``_UniffiRustBufferBuilder``'s methods over a ``bytearray``."""

    class Builder:
        __slots__ = ("buf",)

        def __init__(self) -> None:
            self.buf = bytearray()

        def write(self, value: bytes) -> None:
            self.buf += value

        def finalize(self) -> Any:
            """One buffer in Rust, of exactly the bytes written; the callee frees it."""
            data = self.buf
            size = len(data)
            rbuf = rust_buffer.alloc(size)
            if size:
                ctypes.memmove(rbuf.data, bytes(data), size)
            rbuf.len = size
            return rbuf

        def discard(self) -> None:
            self.buf = bytearray()  # nothing was allocated in Rust before finalize

    def writer(fmt: struct.Struct) -> Callable[[Builder, Any], None]:
        pack = fmt.pack

        def write(self: Builder, value: Any) -> None:
            self.buf += pack(value)

        return write

    for name, fmt in _FORMATS.items():
        setattr(Builder, "write_" + name, writer(fmt))
    return Builder


def install(native: Any) -> bool:
    """Replaces the generated module's buffer reader, writer and the by-value converters' ``lift``/``lower``; ``False`` if it cannot."""
    global installed
    if installed:
        return True
    if not all(hasattr(native, name) for name in _REQUIRED):
        return False
    stream = _stream_class(native.InternalError)
    builder = _builder_class(native._UniffiRustBuffer)

    def consume(rbuf: Any, read: Callable[[Any], Any]) -> Any:
        try:
            s = stream.from_rust_buffer(rbuf)
            value = read(s)
            if s.remaining() != 0:
                raise RuntimeError(f"junk data left in buffer at end of consume_with_stream {s.remaining()}")
            return value
        finally:
            rbuf.free()

    def lift(cls: Any, rbuf: Any) -> Any:
        return consume(rbuf, cls.read)

    def lower(cls: Any, value: Any) -> Any:
        b = builder()
        cls.write(value, b)
        return b.finalize()

    def lift_string(rbuf: Any) -> str:
        return consume(rbuf, lambda s: s.read(s.remaining())).decode("utf-8")  # type: ignore[no-any-return]

    def lower_string(value: str) -> Any:
        b = builder()
        b.write(value.encode("utf-8"))
        return b.finalize()

    replaced: Dict[str, Any] = {"_UniffiRustBufferStream": stream, "_UniffiRustBufferBuilder": builder}
    for name, value in replaced.items():
        setattr(native, name, value)
    native._UniffiConverterRustBuffer.lift = classmethod(lift)
    native._UniffiConverterRustBuffer.lower = classmethod(lower)
    native._UniffiFfiConverterString.lift = staticmethod(lift_string)
    native._UniffiFfiConverterString.lower = staticmethod(lower_string)
    status = native._UniffiRustCallStatus
    if status.CALL_SUCCESS == 0:  # a zero-filled status is success with an empty error buffer
        status.default = staticmethod(status)
    installed = True
    return True
