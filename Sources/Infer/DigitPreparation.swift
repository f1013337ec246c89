/// Turns a decoded grayscale image into a model input the way MNIST's digits were made: dark
/// background, the digit's bounding box scaled to fit a 20x20 box (for a 28x28 input) keeping its
/// aspect ratio, then placed so its centre of mass sits at the centre. Works in caller scratch;
/// allocates nothing.
enum DigitPreparation {
    /// Pixels are 0-255 gray, `width × height`, row-major. Writes `outHeight × outWidth` floats in
    /// [0, 1]. An image of exactly the input size with a dark background (MNIST's own digits, in any
    /// PNG encoding) goes in unchanged as pixel/255.
    static func prepare(_ pixels: UnsafeMutablePointer<UInt8>, width: Int, height: Int,
                        into out: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int,
                        boxSide: Int, resize: UnsafeMutablePointer<Float>, box: UnsafeMutablePointer<Float>) {
        let lightBackground = borderMean(pixels, width: width, height: height) > 127.5
        if !lightBackground && width == outWidth && height == outHeight {
            for i in 0..<(width * height) { out[i] = Float(pixels[i]) * (1 / 255) }
            return
        }
        // Ink: bright on dark.
        var inkMax: UInt8 = 0
        for i in 0..<(width * height) {
            if lightBackground { pixels[i] = 255 - pixels[i] }
            inkMax = max(inkMax, pixels[i])
        }
        out.update(repeating: 0, count: outHeight * outWidth)
        guard inkMax >= 32 else { return } // blank image: an all-zero input
        // Bounding box of clear ink (a quarter of the strongest), which ignores faint noise.
        let threshold = inkMax / 4
        var left = width, right = -1, top = height, bottom = -1
        for y in 0..<height {
            let row = pixels + y * width
            for x in 0..<width where row[x] > threshold {
                left = min(left, x); right = max(right, x); top = min(top, y); bottom = max(bottom, y)
            }
        }
        let boxWidth = right - left + 1, boxHeight = bottom - top + 1
        let scale = Double(boxSide) / Double(max(boxWidth, boxHeight))
        let newWidth = max(1, min(boxSide, Int((Double(boxWidth) * scale).rounded())))
        let newHeight = max(1, min(boxSide, Int((Double(boxHeight) * scale).rounded())))

        // Area-average resampling, rows then columns: resize[y][j] for the box's rows, then box[i][j].
        let inkScale = 1 / Float(inkMax)
        for y in 0..<boxHeight {
            let source = pixels + (top + y) * width + left
            resampleLine(count: boxWidth, to: newWidth, read: { Float(source[$0]) * inkScale },
                         write: { resize[y * newWidth + $0] = $1 })
        }
        for j in 0..<newWidth {
            resampleLine(count: boxHeight, to: newHeight, read: { resize[$0 * newWidth + j] },
                         write: { box[$0 * newWidth + j] = $1 })
        }

        // Centre of mass (pixel centres at +0.5), moved to the input's centre.
        var mass: Float = 0, sumX: Float = 0, sumY: Float = 0
        for i in 0..<newHeight {
            for j in 0..<newWidth {
                let v = box[i * newWidth + j]
                mass += v; sumX += v * (Float(j) + 0.5); sumY += v * (Float(i) + 0.5)
            }
        }
        let comX = mass > 0 ? sumX / mass : Float(newWidth) / 2, comY = mass > 0 ? sumY / mass : Float(newHeight) / 2
        let offsetX = Int((Float(outWidth) / 2 - comX).rounded()), offsetY = Int((Float(outHeight) / 2 - comY).rounded())
        for i in 0..<newHeight {
            let y = i + offsetY
            guard y >= 0 && y < outHeight else { continue }
            for j in 0..<newWidth {
                let x = j + offsetX
                guard x >= 0 && x < outWidth else { continue }
                out[y * outWidth + x] = min(1, box[i * newWidth + j])
            }
        }
    }

    /// Mean of the pixels on the image's four edges.
    static func borderMean(_ pixels: UnsafePointer<UInt8>, width: Int, height: Int) -> Double {
        var sum = 0, count = 0
        for x in 0..<width {
            sum += Int(pixels[x]) + Int(pixels[(height - 1) * width + x]); count += 2
        }
        for y in 0..<height {
            sum += Int(pixels[y * width]) + Int(pixels[y * width + width - 1]); count += 2
        }
        return Double(sum) / Double(count)
    }

    /// Resamples `n` values to `m` by averaging over each output cell's footprint (fractional
    /// overlaps weighted), which both shrinks and enlarges without aliasing.
    @inline(__always)
    static func resampleLine(count n: Int, to m: Int, read: (Int) -> Float, write: (Int, Float) -> Void) {
        let step = Double(n) / Double(m)
        for j in 0..<m {
            let start = Double(j) * step, end = start + step
            var sum: Double = 0
            var k = Int(start)
            while Double(k) < end && k < n {
                let overlap = min(end, Double(k + 1)) - max(start, Double(k))
                if overlap > 0 { sum += overlap * Double(read(k)) }
                k += 1
            }
            write(j, Float(sum / step))
        }
    }
}
