"""Checks `export-tool export`: the runtime's model file and its ONNX export run by onnxruntime
give the same outputs (within 1e-5) on a batch of seeded inputs; for a sequence model, the same
greedy continuation of a prompt, token for token (the vocabulary from the ONNX file's metadata).

Usage: python3 check_export.py MODEL.bin MODEL.onnx   (the infer package importable; onnxruntime)
"""
import sys

import numpy as np
import onnx
import onnxruntime as ort

import infer


def main():
    model_path, onnx_path = sys.argv[1], sys.argv[2]
    onnx.checker.check_model(onnx.load(onnx_path))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(onnx_path, options)
    model = infer.Model(model_path)
    feed = session.get_inputs()[0]
    metadata = session.get_modelmeta().custom_metadata_map
    if "infer.vocabulary" in metadata:
        vocabulary = bytes.fromhex(metadata["infer.vocabulary"])
        token_of = {b: i for i, b in enumerate(vocabulary)}
        context = feed.shape[1]
        prompt = b"ROMEO:" if all(b in token_of for b in b"ROMEO:") else vocabulary[:3]
        new = min(40, context - len(prompt))
        tokens = [token_of[b] for b in prompt]
        for _ in range(new):
            window = np.zeros((1, context), dtype=np.int32)
            window[0, :len(tokens)] = tokens  # causal: the padding after the last token changes nothing before it
            logits = session.run(None, {feed.name: window})[0]
            tokens.append(int(np.argmax(logits.reshape(context, -1)[len(tokens) - 1])))
        ours = model.generate(prompt, new, temperature=0.0)
        theirs = bytes(vocabulary[t] for t in tokens[len(prompt):])
        assert ours == theirs, f"greedy continuations differ:\n runtime     {ours!r}\n onnxruntime {theirs!r}"
        # Every position's next-token distribution: infer_next's against the softmax of onnxruntime's logits.
        window = np.array(tokens[:context], dtype=np.int32)
        window = np.pad(window, (0, context - len(window)))
        logits = session.run(None, {feed.name: window.reshape(1, context)})[0].reshape(context, -1)
        expected = np.exp(logits - logits.max(axis=1, keepdims=True))
        expected /= expected.sum(axis=1, keepdims=True)
        assert list(model.tokenize(prompt)) == tokens[:len(prompt)]
        model.reset()
        difference = max(float(np.abs(model.next(token) - expected[position]).max()) for position, token in enumerate(window))
        assert difference <= 1e-5, f"next-token probabilities differ from onnxruntime's by {difference}"
        print(f"{onnx_path}: onnxruntime's greedy continuation of {prompt!r} ({new} tokens: {ours!r}) equals the runtime's; "
              f"next-token probabilities at all {context} positions within {difference:.2e}")
        return
    rng = np.random.default_rng(7)
    x = rng.random((16, model.input_len), dtype=np.float32)
    ours = model.run(x)
    theirs = session.run(None, {feed.name: x.reshape([16] + list(feed.shape[1:]))})[0].reshape(16, -1)
    difference = float(np.abs(ours - theirs).max())
    assert difference <= 1e-5, f"onnxruntime differs from the runtime by {difference}"
    print(f"{onnx_path}: onnxruntime matches the runtime on 16 inputs (largest difference {difference:.2e})")


if __name__ == "__main__":
    main()
