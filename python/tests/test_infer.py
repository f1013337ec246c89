"""The Python binding against the C example: same labels and outputs for the same PNGs, batches
equal to single runs, and errors raised with the library's message. scripts/python-test.sh sets
INFER_TEST_MODEL, INFER_TEST_DIGITS and INFER_TEST_C_OUTPUT (the C example's output on those PNGs)."""
import glob
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import infer

MODEL = os.environ.get("INFER_TEST_MODEL")
DIGITS = os.environ.get("INFER_TEST_DIGITS")
C_OUTPUT = os.environ.get("INFER_TEST_C_OUTPUT")
GPT = os.environ.get("INFER_TEST_GPT")
GPT_C_OUTPUT = os.environ.get("INFER_TEST_GPT_C_OUTPUT")
needs_fixtures = pytest.mark.skipif(not (MODEL and DIGITS and C_OUTPUT), reason="run through scripts/python-test.sh")


def c_results():
    """{png path: (label, outputs)} from the C example's lines `path: label  what v0 v1 ...`."""
    results = {}
    for line in open(C_OUTPUT):
        path, rest = line.split(": ", 1)
        fields = rest.split()
        results[path] = (int(fields[0]), np.array([float(v) for v in fields[2:]], dtype=np.float32))
    return results


@needs_fixtures
def test_same_labels_and_outputs_as_the_c_example():
    model = infer.Model(MODEL)
    expected = c_results()
    assert len(expected) >= 20
    for path, (label, outputs) in expected.items():
        got_label, got = model.classify_png(path)
        assert got_label == label, path
        assert np.abs(got - outputs).max() <= 5e-5, path  # the C example prints 4 decimals
        with open(path, "rb") as file:
            from_bytes = model.classify_png(file.read())
        assert from_bytes[0] == got_label and np.array_equal(from_bytes[1], got)


@needs_fixtures
def test_model_describes_itself():
    model = infer.Model(MODEL)
    assert (model.input_len, model.output_len, model.output_kind) == (784, 10, "probabilities")
    assert model.arena_len > 0 and "784 inputs" in repr(model)
    with open(MODEL, "rb") as file:
        assert infer.Model(file.read()).arena_len == model.arena_len


@needs_fixtures
def test_a_batch_equals_single_runs():
    model = infer.Model(MODEL)
    rng = np.random.default_rng(0)
    batch = np.where(rng.random((5, 1, 28, 28)) < 0.2, rng.random((5, 1, 28, 28)), 0).astype(np.float32)
    outputs = model.run(batch)
    assert outputs.shape == (5, 10)
    for i in range(5):
        single = model.run(batch[i])
        assert single.shape == (10,) and np.array_equal(single, outputs[i])
    assert np.allclose(outputs.sum(axis=1), 1, atol=1e-5)


@needs_fixtures
def test_errors_carry_the_library_message():
    model = infer.Model(MODEL)
    with pytest.raises(infer.InferError, match="shape: the input has 5 values") as error:
        model.run(np.zeros(5))
    assert error.value.status == 7
    with pytest.raises(infer.InferError) as error:
        model.classify_png("/nonexistent.png")
    assert error.value.status == 5
    data = bytearray(open(MODEL, "rb").read())
    data[200] ^= 0xFF
    with pytest.raises(infer.InferError, match="checksum") as error:
        infer.Model(bytes(data))
    assert error.value.status == 2
    with pytest.raises(infer.InferError, match="not a sequence model") as error:
        model.generate("the ")
    assert error.value.status == 7
    with pytest.raises(infer.InferError) as error:
        model.sample(1)
    assert error.value.status == 7
    with pytest.raises(infer.InferError) as error:
        model.log_density(np.zeros(model.input_len))
    assert error.value.status == 7


def test_a_missing_library_names_every_place_tried(tmp_path):
    package = tmp_path / "infer"
    package.mkdir()
    shutil.copy(infer.__file__, package / "__init__.py")
    env = dict(os.environ, INFER_LIBRARY=str(tmp_path / "missing.so"), PYTHONPATH=str(tmp_path), LD_LIBRARY_PATH="")
    result = subprocess.run([sys.executable, "-c", "import infer"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0
    for place in ["next to the package", "INFER_LIBRARY", "missing.so", "the loader's path"]:
        assert place in result.stderr, result.stderr


@pytest.mark.skipif(not (GPT and GPT_C_OUTPUT), reason="needs a GPT file and the C example's continuation")
def test_generation_equals_the_c_example():
    model = infer.Model(GPT)
    assert model.vocab_len > 0 and model.context_len > 0
    expected = open(GPT_C_OUTPUT, "rb").read().rstrip(b"\n")  # generate prints the prompt, the bytes, a newline
    text = model.generate("ROMEO:", 80, temperature=0.8, top_k=40, seed=7)
    assert b"ROMEO:" + text == expected
    assert model.generate(b"ROMEO:", 80, 0.8, 40, 7) == text
    with pytest.raises(infer.InferError, match="not in the model's vocabulary"):
        model.generate("\x01", 5)


@pytest.mark.skipif(not GPT, reason="needs a GPT file")
def test_next_token_probabilities_give_the_greedy_continuation():
    model = infer.Model(GPT)
    prompt = b"ROMEO:"
    tokens = list(model.tokenize(prompt))
    assert len(tokens) == len(prompt) and all(0 <= t < model.vocab_len for t in tokens)
    model.reset()
    for t in tokens:
        p = model.next(t)
    assert p.shape == (model.vocab_len,) and abs(float(p.sum()) - 1) < 1e-4
    greedy = []
    for _ in range(20):
        greedy.append(int(np.argmax(p)))
        p = model.next(greedy[-1])
    assert model.generate(prompt, 20, temperature=0.0) == bytes(_byte_of(model, t) for t in greedy)


def _byte_of(model, token):
    """The byte of a token id, found by tokenizing every byte the vocabulary accepts."""
    if not hasattr(model, "_bytes_of_tokens"):
        table = {}
        for b in range(256):
            try:
                table[int(model.tokenize(bytes([b]))[0])] = b
            except infer.InferError:
                pass
        model._bytes_of_tokens = table
    return model._bytes_of_tokens[token]


GAN = os.environ.get("INFER_TEST_GAN")


@pytest.mark.skipif(not GAN, reason="needs a generative model file")
def test_a_generative_model_samples_deterministically(tmp_path):
    model = infer.Model(GAN)
    a, b, c = model.sample(5), model.sample(5), model.sample(6)
    assert a.shape == (model.output_len,) and np.array_equal(a, b) and not np.array_equal(a, c)
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    model.sample_png(5, tmp_path / "s.png")
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(infer.InferError) as error:
        model.log_density(np.zeros(model.input_len))
    assert error.value.status == 7
