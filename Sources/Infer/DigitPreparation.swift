import ModelFile

/// Turns a decoded grayscale image into a model input the way MNIST's digits were made: ink
/// bright on a dark background, the bounding box of all ink scaled (keeping its aspect ratio) so
/// its longer side fills a 20x20 box (for a 28x28 input), placed so its centre of mass falls on
/// the centre pixel (index 14 of 28, where MNIST's digits have theirs on average), to a fraction
/// of a pixel. Scaling and placement are one area-averaging resample, so a digit is filtered once.
/// A digit that already is MNIST-prepared (the input's size, its ink inside the 20x20 box,
/// centred to a pixel) is taken as it is, inverted if its background is light. Works in caller
/// scratch; allocates nothing.
enum DigitPreparation {
    /// Pixels are 0-255 gray, `width × height`, row-major (overwritten: inverted and with the
    /// background level removed). Writes `outHeight × outWidth` floats in [0, 1].
    /// `rows` holds `height × (boxSide + 2)` floats.
    static func prepare(_ pixels: UnsafeMutablePointer<UInt8>, width: Int, height: Int,
                        into out: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int,
                        boxSide: Int, rows: UnsafeMutablePointer<Float>) {
        let count = width * height
        if borderMean(pixels, width: width, height: height) > 127.5 {
            for i in 0..<count { pixels[i] = 255 - pixels[i] }
        }
        out.update(repeating: 0, count: outHeight * outWidth)
        // What the border still holds (a grey or speckled background) is not ink.
        let floor = UInt8(min(255, borderMean(pixels, width: width, height: height).rounded()))
        var inkMax: UInt8 = 0
        for i in 0..<count {
            pixels[i] = pixels[i] > floor ? pixels[i] - floor : 0
            inkMax = max(inkMax, pixels[i])
        }
        guard inkMax >= 32 else { return } // blank image: an all-zero input
        // The box of all ink, as MNIST's: every one of its digits spans exactly 20 pixels this way.
        var left = width, right = -1, top = height, bottom = -1
        var mass = 0.0, sumX = 0.0, sumY = 0.0
        for y in 0..<height {
            let row = pixels + y * width
            for x in 0..<width where row[x] > 0 {
                left = min(left, x); right = max(right, x); top = min(top, y); bottom = max(bottom, y)
                let v = Double(row[x])
                mass += v; sumX += v * (Double(x) + 0.5); sumY += v * (Double(y) + 0.5)
            }
        }
        let boxWidth = right - left + 1, boxHeight = bottom - top + 1
        if width == outWidth && height == outHeight && max(boxWidth, boxHeight) <= boxSide,
           abs(sumX / mass - Double(outWidth / 2) - 0.5) <= 1, abs(sumY / mass - Double(outHeight / 2) - 0.5) <= 1 {
            for i in 0..<count { out[i] = Float(pixels[i]) * (1 / 255) }
            return
        }
        // Output x = (source x − left)·scale + offsetX, so the centre of mass lands on the centre
        // pixel's centre; output pixel x averages the source over [x, x + 1) mapped back.
        let scale = Double(boxSide) / Double(max(boxWidth, boxHeight))
        let offsetX = Double(outWidth / 2) + 0.5 - (sumX / mass - Double(left)) * scale
        let offsetY = Double(outHeight / 2) + 0.5 - (sumY / mass - Double(top)) * scale
        let x0 = max(0, Int(offsetX.rounded(.down))), x1 = min(outWidth, Int((offsetX + Double(boxWidth) * scale).rounded(.up)))
        let y0 = max(0, Int(offsetY.rounded(.down))), y1 = min(outHeight, Int((offsetY + Double(boxHeight) * scale).rounded(.up)))
        guard x0 < x1, y0 < y1 else { return }
        let columns = x1 - x0 // at most boxSide + 2
        let inkScale = 1 / Double(inkMax)
        for y in 0..<boxHeight {
            let source = pixels + (top + y) * width + left
            for x in x0..<x1 {
                rows[y * columns + x - x0] = Float(average(count: boxWidth, from: (Double(x) - offsetX) / scale, length: 1 / scale) {
                    Double(source[$0]) * inkScale
                })
            }
        }
        for x in x0..<x1 {
            for y in y0..<y1 {
                let v = average(count: boxHeight, from: (Double(y) - offsetY) / scale, length: 1 / scale) {
                    Double(rows[$0 * columns + x - x0])
                }
                out[y * outWidth + x] = Float(min(1, v))
            }
        }
    }

    /// The mean of a line of `n` samples (sample k covers [k, k + 1); zero outside [0, n)) over
    /// [start, start + length), fractional overlaps weighted.
    @inline(__always)
    static func average(count n: Int, from start: Double, length: Double, _ read: (Int) -> Double) -> Double {
        let end = start + length
        var k = max(0, Int(start.rounded(.down))), sum = 0.0
        while k < n && Double(k) < end {
            let overlap = min(end, Double(k + 1)) - max(start, Double(k))
            if overlap > 0 { sum += overlap * read(k) }
            k += 1
        }
        return sum / length
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
}
