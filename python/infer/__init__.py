"""A thin binding of libinfer (the project's include/infer.h) over ctypes, with NumPy arrays.

    import infer
    model = infer.Model("mlp.bin")
    label, probabilities = model.classify_png("digit.png")
    outputs = model.run(images)            # one input of model.input_len floats, or a batch of them
    text = infer.Model("gpt.bin").generate("ROMEO:", 200, temperature=0.8, seed=1)
    digit = infer.Model("gan.bin").sample(seed=3)      # generative models: 784 floats in [0, 1]

The library is found next to this file (scripts/python-package.sh puts it there), through the
INFER_LIBRARY environment variable, or on the loader's path, in that order. A Model owns its model
bytes and its arena (sized by infer_arena_size); it must not be used by two threads at once.
"""
import ctypes
import os

import numpy as np

__all__ = ["Model", "InferError", "library_path"]

_STATUS = {0: "ok", 1: "argument", 2: "format", 3: "version", 4: "arena", 5: "io", 6: "image", 7: "shape"}
OUTPUT_KINDS = {0: "values", 1: "probabilities", 2: "scores"}


class InferError(Exception):
    """A failed call: `status` is the infer_status code, the message infer_last_error()'s text."""

    def __init__(self, status, message):
        self.status = status
        super().__init__(f"{_STATUS.get(status, status)}: {message}" if message else _STATUS.get(status, str(status)))


def _candidates():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libinfer.so")
    found = [("next to the package", here)]
    if os.environ.get("INFER_LIBRARY"):
        found.append(("INFER_LIBRARY", os.environ["INFER_LIBRARY"]))
    found.append(("the loader's path", "libinfer.so"))
    return found


def _load():
    tried = []
    for where, path in _candidates():
        if where != "the loader's path" and not os.path.exists(path):
            tried.append(f"{where}: {path} (no such file)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as error:
            tried.append(f"{where}: {path} ({error})")
    raise ImportError("cannot load libinfer.so; tried " + "; ".join(tried)
                      + ". Build it with `swift build -c release --product infer` and set INFER_LIBRARY to it,"
                      + " or run scripts/python-package.sh")


_lib, library_path = _load()
_size = ctypes.c_size_t
_lib.infer_last_error.restype = ctypes.c_char_p
_lib.infer_status_string.restype = ctypes.c_char_p
_lib.infer_status_string.argtypes = [ctypes.c_int]
_lib.infer_arena_size.argtypes = [ctypes.c_void_p, _size, ctypes.POINTER(_size)]
_lib.infer_open.argtypes = [ctypes.c_void_p, _size, ctypes.c_void_p, _size, ctypes.POINTER(ctypes.c_void_p)]
_lib.infer_input_len.argtypes = [ctypes.c_void_p]
_lib.infer_input_len.restype = _size
_lib.infer_output_len.argtypes = [ctypes.c_void_p]
_lib.infer_output_len.restype = _size
_lib.infer_output_kind.argtypes = [ctypes.c_void_p]
_lib.infer_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, _size, ctypes.c_void_p, _size]
_lib.infer_classify_png.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_void_p, _size]
_lib.infer_classify_png_memory.argtypes = [ctypes.c_void_p, ctypes.c_void_p, _size, ctypes.POINTER(ctypes.c_int),
                                           ctypes.c_void_p, _size]
_lib.infer_vocab_len.argtypes = [ctypes.c_void_p]
_lib.infer_vocab_len.restype = _size
_lib.infer_context_len.argtypes = [ctypes.c_void_p]
_lib.infer_context_len.restype = _size
_lib.infer_generate.argtypes = [ctypes.c_void_p, ctypes.c_char_p, _size, _size, ctypes.c_float, ctypes.c_int,
                                ctypes.c_ulonglong, ctypes.c_void_p, _size, ctypes.POINTER(_size)]
_lib.infer_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, _size, ctypes.c_void_p, _size, ctypes.POINTER(_size)]
_lib.infer_reset.argtypes = [ctypes.c_void_p]
_lib.infer_next.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, _size]
_lib.infer_sample.argtypes = [ctypes.c_void_p, ctypes.c_ulonglong, ctypes.c_void_p, _size]
_lib.infer_sample_png.argtypes = [ctypes.c_void_p, ctypes.c_ulonglong, ctypes.c_char_p]
_lib.infer_log_density.argtypes = [ctypes.c_void_p, ctypes.c_void_p, _size, ctypes.POINTER(ctypes.c_double)]


def _check(status):
    if status != 0:
        raise InferError(status, _lib.infer_last_error().decode("utf-8", "replace"))


def _aligned(size, alignment=64):
    """A zeroed NumPy byte buffer of `size` bytes whose data starts at a multiple of `alignment`."""
    raw = np.zeros(size + alignment, dtype=np.uint8)
    start = (-raw.ctypes.data) % alignment
    return raw[start:start + size]


class Model:
    """A model file opened through libinfer: `path` (a file name) or the file's bytes."""

    def __init__(self, path_or_bytes):
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            data = bytes(path_or_bytes)
        else:
            with open(os.fspath(path_or_bytes), "rb") as file:
                data = file.read()
        self._bytes = _aligned(max(len(data), 1))
        self._bytes[:len(data)] = np.frombuffer(data, dtype=np.uint8)
        needed = _size(0)
        _check(_lib.infer_arena_size(self._bytes.ctypes.data, len(data), ctypes.byref(needed)))
        self.arena_len = needed.value
        self._arena = _aligned(max(self.arena_len, 1))
        handle = ctypes.c_void_p()
        _check(_lib.infer_open(self._bytes.ctypes.data, len(data), self._arena.ctypes.data, self.arena_len, ctypes.byref(handle)))
        self._handle = handle
        self.input_len = _lib.infer_input_len(handle)
        self.output_len = _lib.infer_output_len(handle)
        self.output_kind = OUTPUT_KINDS[_lib.infer_output_kind(handle)]
        self.vocab_len = _lib.infer_vocab_len(handle)
        self.context_len = _lib.infer_context_len(handle)

    def run(self, x):
        """Outputs for one input (input_len floats, any shape) or a batch (first axis: samples).
        Probability models return probabilities; others their raw outputs."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        single = x.size == self.input_len
        batch = x.reshape(1 if single else -1, self.input_len) if x.size % self.input_len == 0 and x.size > 0 else None
        if batch is None:
            raise InferError(7, f"the input has {x.size} values, not a multiple of the model's {self.input_len}")
        out = np.empty((batch.shape[0], self.output_len), dtype=np.float32)
        for i in range(batch.shape[0]):
            _check(_lib.infer_run(self._handle, batch[i].ctypes.data, self.input_len, out[i].ctypes.data, self.output_len))
        return out[0] if single else out

    def classify_png(self, path_or_bytes):
        """(label, outputs) for a PNG file name or PNG bytes, prepared as include/infer.h says."""
        label = ctypes.c_int(-1)
        out = np.empty(self.output_len, dtype=np.float32)
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            png = np.frombuffer(bytes(path_or_bytes), dtype=np.uint8)
            _check(_lib.infer_classify_png_memory(self._handle, png.ctypes.data, png.size, ctypes.byref(label),
                                                  out.ctypes.data, self.output_len))
        else:
            _check(_lib.infer_classify_png(self._handle, os.fsencode(path_or_bytes), ctypes.byref(label),
                                           out.ctypes.data, self.output_len))
        return label.value, out

    def generate(self, prompt, max_new=100, temperature=0.0, top_k=0, seed=0):
        """The prompt (str or bytes) continued by `max_new` bytes, for sequence models (a GPT):
        temperature 0 picks the most likely byte, top_k 0 keeps all; the same seed, the same bytes.
        Returns bytes; other models raise InferError (shape)."""
        data = prompt.encode("utf-8") if isinstance(prompt, str) else bytes(prompt)
        out = ctypes.create_string_buffer(max(max_new, 1))
        written = _size(0)
        _check(_lib.infer_generate(self._handle, data, len(data), max_new, float(temperature), int(top_k), int(seed),
                                   out, max_new, ctypes.byref(written)))
        return out.raw[:written.value]

    def tokenize(self, text):
        """Token ids (an int32 array) of `text` (str or bytes) in a sequence model's vocabulary."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        tokens = np.empty(max(len(data), 1), dtype=np.int32)
        count = _size(0)
        _check(_lib.infer_tokenize(self._handle, data, len(data), tokens.ctypes.data, tokens.size, ctypes.byref(count)))
        return tokens[:count.value]

    def reset(self):
        """Starts a new sequence: the next `next` call is its first token."""
        _check(_lib.infer_reset(self._handle))

    def next(self, token):
        """Appends one token id and returns the next token's probabilities (vocab_len floats)."""
        out = np.empty(self.vocab_len, dtype=np.float32)
        _check(_lib.infer_next(self._handle, int(token), out.ctypes.data, out.size))
        return out

    def sample(self, seed=0):
        """One sample of a generative model (a GAN, flow or diffusion model: output_len floats, an
        image in [0, 1]); the same seed gives the same sample. Other models raise InferError (shape)."""
        out = np.empty(self.output_len, dtype=np.float32)
        _check(_lib.infer_sample(self._handle, int(seed), out.ctypes.data, out.size))
        return out

    def sample_png(self, seed, path):
        """The same sample written as an 8-bit grayscale PNG file."""
        _check(_lib.infer_sample_png(self._handle, int(seed), os.fsencode(path)))

    def log_density(self, x):
        """log p(x) in nats for a model with an exact density (a flow), x of input_len floats in [0, 1]."""
        x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
        result = ctypes.c_double(0)
        _check(_lib.infer_log_density(self._handle, x.ctypes.data, x.size, ctypes.byref(result)))
        return result.value

    def __repr__(self):
        return f"infer.Model({self.input_len} inputs → {self.output_len} {self.output_kind}, arena {self.arena_len} bytes)"
