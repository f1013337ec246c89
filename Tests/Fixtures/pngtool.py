"""A small PNG encoder (standard library only) for test fixtures and CI.

  python3 pngtool.py fixtures OUT_DIR MNIST_DIR   one MNIST test digit in many PNG variants, plus
                                                  broken files (see `variants` below)
  python3 pngtool.py digits OUT_DIR MNIST_DIR N   the first N MNIST test digits as 8-bit gray PNGs,
                                                  named INDEX-LABEL.png

Supports every colour type and bit depth of the PNG specification and Adam7 interlacing.
"""
import gzip
import os
import struct
import sys
import zlib


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def pack_row(samples, depth):
    """Packs integer samples of `depth` bits into bytes (big-endian, as PNG stores them)."""
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    out, acc, bits = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | s
        bits += depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def encode(pixels, width, height, color_type, depth, interlace=False, palette=None, trns=None):
    """pixels[y][x] is a tuple of samples for one pixel (1 to 4 of them, by colour type)."""
    raw = bytearray()
    if not interlace:
        for y in range(height):
            raw.append(0)
            raw += pack_row([s for x in range(width) for s in pixels[y][x]], depth)
    else:
        for x0, y0, dx, dy in ADAM7:
            xs = list(range(x0, width, dx))
            if not xs:
                continue
            for y in range(y0, height, dy):
                raw.append(0)
                raw += pack_row([s for x in xs for s in pixels[y][x]], depth)
    data = b"\x89PNG\r\n\x1a\n"
    data += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        data += chunk(b"PLTE", b"".join(bytes(c) for c in palette))
    if trns is not None:
        data += chunk(b"tRNS", trns)
    data += chunk(b"tEXt", b"Comment\x00test fixture")
    data += chunk(b"IDAT", zlib.compress(bytes(raw), 9))
    data += chunk(b"IEND", b"")
    return data


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return dims, data[4 + 4 * rank:]


def test_digits(mnist_dir):
    (count, rows, cols), pixels = read_idx(os.path.join(mnist_dir, "t10k-images-idx3-ubyte.gz"))
    _, labels = read_idx(os.path.join(mnist_dir, "t10k-labels-idx1-ubyte.gz"))
    for i in range(count):
        image = pixels[i * rows * cols:(i + 1) * rows * cols]
        yield i, labels[i], [[image[y * cols + x] for x in range(cols)] for y in range(rows)]


def variants(gray, out_dir):
    """One digit (white on black, 28x28) in every supported encoding, plus broken files."""
    h, w = len(gray), len(gray[0])
    def grid(f, width=w, height=h):
        return [[f(x, y) for x in range(width)] for y in range(height)]
    files = {
        "gray8.png": encode(grid(lambda x, y: (gray[y][x],)), w, h, 0, 8),
        "gray8-interlaced.png": encode(grid(lambda x, y: (gray[y][x],)), w, h, 0, 8, interlace=True),
        "gray16.png": encode(grid(lambda x, y: (gray[y][x] * 257,)), w, h, 0, 16),
        "gray-alpha8.png": encode(grid(lambda x, y: (gray[y][x], 255)), w, h, 4, 8),
        "gray-alpha16-interlaced.png": encode(grid(lambda x, y: (gray[y][x] * 257, 65535)), w, h, 4, 16, interlace=True),
        "rgb8.png": encode(grid(lambda x, y: (gray[y][x],) * 3), w, h, 2, 8),
        "rgb16.png": encode(grid(lambda x, y: (gray[y][x] * 257,) * 3), w, h, 2, 16),
        "rgba8-interlaced.png": encode(grid(lambda x, y: (gray[y][x],) * 3 + (255,)), w, h, 6, 8, interlace=True),
        "rgba16.png": encode(grid(lambda x, y: (gray[y][x] * 257,) * 3 + (65535,)), w, h, 6, 16),
        # Palette of the 256 gray levels.
        "palette8.png": encode(grid(lambda x, y: (gray[y][x],)), w, h, 3, 8, palette=[(v, v, v) for v in range(256)]),
        # Two-level images: 1-bit gray and a 1-bit palette with a transparent background.
        "gray1.png": encode(grid(lambda x, y: (1 if gray[y][x] > 127 else 0,)), w, h, 0, 1),
        "gray4.png": encode(grid(lambda x, y: (gray[y][x] >> 4,)), w, h, 0, 4),
        "palette2-trns.png": encode(grid(lambda x, y: (1 if gray[y][x] > 127 else 0,)), w, h, 3, 2,
                                    palette=[(255, 255, 255), (0, 0, 0)], trns=bytes([0, 255])),
        # Black ink on white, 28x28: light background, so it is inverted and re-centred.
        "inverted-gray8.png": encode(grid(lambda x, y: (255 - gray[y][x],)), w, h, 0, 8),
        # The digit drawn large (4x) in dark blue ink on white, with a margin: scaled down to 20x20.
        "large-rgb8.png": encode([[(30, 30, 120) if gray[min(h - 1, max(0, (y - 40) // 4))][min(w - 1, max(0, (x - 20) // 4))] > 127
                                   and 40 <= y < 40 + 4 * h and 20 <= x < 20 + 4 * w else (250, 250, 250)
                                   for x in range(160)] for y in range(200)], 160, 200, 2, 8),
        # Black ink on a transparent background (alpha carries the digit).
        "transparent-rgba8.png": encode(grid(lambda x, y: (0, 0, 0, gray[y][x])), w, h, 6, 8),
    }
    good = files["gray8.png"]
    ihdr_end = 8 + 25
    broken = {
        "bad-not-png.png": b"GIF89a" + bytes(100),
        "bad-empty.png": b"",
        "bad-signature-only.png": good[:8],
        "bad-truncated-header.png": good[:20],
        "bad-truncated-data.png": good[:len(good) // 2],
        "bad-no-iend.png": good[:-12],
        "bad-crc.png": good[:ihdr_end - 1] + bytes([good[ihdr_end - 1] ^ 0xFF]) + good[ihdr_end:],
        "bad-huge.png": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)),
        "bad-too-wide.png": encode([[(0,)] * 1025], 1025, 1, 0, 8),
        "bad-zero-size.png": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 28, 8, 0, 0, 0, 0)),
        "bad-depth.png": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 7, 0, 0, 0, 0)),
        "bad-idat-garbage.png": good[:ihdr_end] + chunk(b"IDAT", bytes(range(200))) + chunk(b"IEND", b""),
    }
    os.makedirs(out_dir, exist_ok=True)
    for name, data in list(files.items()) + list(broken.items()):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
    # The largest permitted image, 16-bit RGBA and interlaced: the decoder's worst case for memory.
    big = [[(4660, 22136, 39612, 65535 if (x + y) % 97 else 0) for x in range(1024)] for y in range(1024)]
    with open(os.path.join(out_dir, "max-rgba16-interlaced.png"), "wb") as f:
        f.write(encode(big, 1024, 1024, 6, 16, interlace=True))


def main():
    mode, out_dir, mnist_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "fixtures":
        _, _, gray = next(test_digits(mnist_dir))
        variants(gray, out_dir)
    elif mode == "digits":
        n = int(sys.argv[4])
        os.makedirs(out_dir, exist_ok=True)
        for i, label, gray in test_digits(mnist_dir):
            if i >= n:
                break
            with open(os.path.join(out_dir, "%05d-%d.png" % (i, label)), "wb") as f:
                f.write(encode([[(v,) for v in row] for row in gray], 28, 28, 0, 8))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
