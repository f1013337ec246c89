import CCairo

/// Why a figure could not be drawn.
public struct PlotError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// An RGB colour with components in [0, 1].
public struct Color: Sendable, Equatable {
    public var red: Double, green: Double, blue: Double
    public init(red: Double, green: Double, blue: Double) { (self.red, self.green, self.blue) = (red, green, blue) }
    public static let white = Color(red: 1, green: 1, blue: 1)
    public static let black = Color(red: 0, green: 0, blue: 0)

    /// The colour a fraction `t` of the way from `self` to `other`.
    func mixed(with other: Color, _ t: Double) -> Color {
        Color(red: red + (other.red - red) * t, green: green + (other.green - green) * t, blue: blue + (other.blue - blue) * t)
    }
}

/// A white RGB image drawn on by cairo, encoded as PNG at the end. The only place this module
/// holds cairo's pointers: the surface and context live exactly as long as the canvas.
final class Canvas {
    enum Anchor { case leading, center, trailing }

    let width: Int, height: Int
    private let surface: OpaquePointer
    private let context: OpaquePointer

    /// A canvas of `width` × `height` pixels, filled white.
    init(width: Int, height: Int) throws(PlotError) {
        guard (16...8192).contains(width), (16...8192).contains(height) else {
            throw PlotError("a figure must be 16 to 8192 pixels on each side, not \(width) × \(height)")
        }
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height)),
              cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
            throw PlotError("cairo could not create a \(width) × \(height) image")
        }
        guard let context = cairo_create(surface), cairo_status(context) == CAIRO_STATUS_SUCCESS else {
            cairo_surface_destroy(surface)
            throw PlotError("cairo could not create a drawing context")
        }
        (self.width, self.height, self.surface, self.context) = (width, height, surface, context)
        setColor(.white)
        cairo_paint(context)
    }

    deinit {
        cairo_destroy(context)
        cairo_surface_destroy(surface)
    }

    private func setColor(_ c: Color) { cairo_set_source_rgb(context, c.red, c.green, c.blue) }

    func fillRectangle(x: Double, y: Double, width: Double, height: Double, _ color: Color) {
        setColor(color)
        cairo_rectangle(context, x, y, width, height)
        cairo_fill(context)
    }

    func strokeRectangle(x: Double, y: Double, width: Double, height: Double, _ color: Color, lineWidth: Double = 1) {
        setColor(color)
        cairo_set_line_width(context, lineWidth)
        cairo_rectangle(context, x, y, width, height)
        cairo_stroke(context)
    }

    /// A polyline through `points`; a dash pattern of [on, off] lengths when given.
    func strokeLine(_ points: [(x: Double, y: Double)], _ color: Color, lineWidth: Double = 1, dash: [Double] = []) {
        guard let first = points.first, points.count > 1 else { return }
        setColor(color)
        cairo_set_line_width(context, lineWidth)
        cairo_set_line_join(context, CAIRO_LINE_JOIN_ROUND)
        cairo_set_dash(context, dash, Int32(dash.count), 0)
        cairo_move_to(context, first.x, first.y)
        for p in points.dropFirst() { cairo_line_to(context, p.x, p.y) }
        cairo_stroke(context)
        cairo_set_dash(context, nil, 0, 0)
    }

    func fillCircle(x: Double, y: Double, radius: Double, _ color: Color) {
        setColor(color)
        cairo_new_sub_path(context)
        cairo_arc(context, x, y, radius, 0, 2 * Double.pi)
        cairo_fill(context)
    }

    private func selectFont(size: Double, bold: Bool) {
        cairo_select_font_face(context, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(context, size)
    }

    /// The width `text` takes in pixels at this size.
    func textWidth(_ text: String, size: Double, bold: Bool = false) -> Double {
        selectFont(size: size, bold: bold)
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, text, &extents)
        return extents.x_advance
    }

    /// Draws `text` anchored horizontally at `x` and vertically centred on `y` (its capital
    /// letters' height, so labels line up with ticks), turned by `angle` radians (−π/2 reads upwards).
    func text(_ text: String, x: Double, y: Double, size: Double, _ color: Color = .black, bold: Bool = false,
              anchor: Anchor = .leading, angle: Double = 0) {
        selectFont(size: size, bold: bold)
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, text, &extents)
        var capital = cairo_text_extents_t()
        cairo_text_extents(context, "H", &capital)
        let dx: Double = switch anchor { case .leading: 0; case .center: -extents.x_advance / 2; case .trailing: -extents.x_advance }
        cairo_save(context)
        cairo_translate(context, x, y)
        cairo_rotate(context, angle)
        setColor(color)
        cairo_move_to(context, dx, -capital.y_bearing / 2)
        cairo_show_text(context, text)
        cairo_restore(context)
    }

    /// The image as PNG bytes (cairo's encoder, through libpng).
    func png() throws(PlotError) -> [UInt8] {
        cairo_surface_flush(surface)
        final class Sink { var bytes: [UInt8] = [] }
        let sink = Sink()
        let status = cairo_surface_write_to_png_stream(surface, { closure, data, length in
            guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
            let sink = Unmanaged<Sink>.fromOpaque(closure).takeUnretainedValue()
            sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
            return CAIRO_STATUS_SUCCESS
        }, Unmanaged.passUnretained(sink).toOpaque())
        guard status == CAIRO_STATUS_SUCCESS else {
            throw PlotError("cairo could not encode the figure as PNG: \(String(cString: cairo_status_to_string(status)))")
        }
        return sink.bytes
    }
}
