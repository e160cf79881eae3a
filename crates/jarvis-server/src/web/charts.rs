//! Charts drawn on the server as inline SVG (no JavaScript): a time series as a line, a ranking
//! as bars. Each chart is an `<svg role="img">` with an `aria-label` and a `<title>`, followed
//! by a visually hidden table of the same numbers as its text alternative. Every label is
//! escaped here, so templates insert the result with `|safe`.

use std::fmt::Write;

/// A chart's data and texts.
pub struct Chart<'a> {
    /// What the chart shows (the SVG's title and the table's caption).
    pub title: &'a str,
    /// Header of the label column of the text alternative (e.g. "Day").
    pub x_label: &'a str,
    /// Header of the value column (e.g. "Conversations").
    pub y_label: &'a str,
    /// The points: a label and its value (non-finite and negative values count as 0).
    pub points: &'a [(String, f64)],
}

const W: f64 = 600.0;
const H: f64 = 160.0;
const PAD: f64 = 24.0;

/// Escapes text for HTML/SVG content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn clean(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 { v } else { 0.0 }
}

/// A number as the table and tooltips show it (at most two decimals, no trailing zeros).
fn num(v: f64) -> String {
    let s = format!("{:.2}", clean(v));
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl Chart<'_> {
    fn max(&self) -> f64 {
        self.points
            .iter()
            .map(|p| clean(p.1))
            .fold(0.0, f64::max)
            .max(1.0)
    }

    fn open(&self, class: &str) -> String {
        let t = esc(self.title);
        format!(
            "<svg class=\"chart {class}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\" \
             xmlns=\"http://www.w3.org/2000/svg\"><title>{t}</title>\
             <line class=\"axis\" x1=\"{PAD}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\"/>",
            b = H - PAD,
            r = W - PAD,
        )
    }

    /// The text alternative: a visually hidden table of every point.
    fn table(&self) -> String {
        let mut s = format!(
            "<table class=\"visually-hidden\"><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            esc(self.title),
            esc(self.x_label),
            esc(self.y_label)
        );
        for (l, v) in self.points {
            let _ = write!(
                s,
                "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                esc(l),
                num(*v)
            );
        }
        s.push_str("</tbody></table>");
        s
    }

    /// The series as a line with a dot per point (each with its own `<title>`).
    pub fn line(&self) -> String {
        let mut s = self.open("line");
        let n = self.points.len();
        let max = self.max();
        let step = if n > 1 {
            (W - 2.0 * PAD) / (n - 1) as f64
        } else {
            0.0
        };
        let xy = |i: usize, v: f64| {
            let x = if n > 1 {
                PAD + step * i as f64
            } else {
                W / 2.0
            };
            (x, H - PAD - clean(v) / max * (H - 2.0 * PAD))
        };
        if n > 0 {
            let mut d = String::new();
            for (i, (_, v)) in self.points.iter().enumerate() {
                let (x, y) = xy(i, *v);
                let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { " L" });
            }
            let _ = write!(s, "<path class=\"series\" d=\"{d}\" fill=\"none\"/>");
        }
        for (i, (l, v)) in self.points.iter().enumerate() {
            let (x, y) = xy(i, *v);
            let _ = write!(
                s,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\"><title>{}: {}</title></circle>",
                esc(l),
                num(*v)
            );
        }
        if let (Some(first), Some(last)) = (self.points.first(), self.points.last()) {
            let _ = write!(
                s,
                "<text x=\"{PAD}\" y=\"{H}\" class=\"tick\">{}</text><text x=\"{r}\" y=\"{H}\" class=\"tick\" text-anchor=\"end\">{}</text>",
                esc(&first.0),
                esc(&last.0),
                r = W - PAD
            );
        }
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{PAD}\" class=\"tick\">{}</text></svg>",
            num(self.max())
        );
        s + &self.table()
    }

    /// The points as horizontal bars, one row each, label on the left.
    pub fn bars(&self) -> String {
        let n = self.points.len().max(1);
        let row = ((H - PAD) / n as f64).min(28.0);
        let max = self.max();
        let left = W * 0.35;
        let mut s = self.open("bars");
        for (i, (l, v)) in self.points.iter().enumerate() {
            let y = PAD / 2.0 + row * i as f64;
            let w = clean(*v) / max * (W - left - PAD * 2.0);
            let _ = write!(
                s,
                "<g><title>{l}: {v}</title><text x=\"{tx:.1}\" y=\"{ty:.1}\" class=\"tick\" text-anchor=\"end\">{l}</text>\
                 <rect class=\"bar\" x=\"{left:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\"/>\
                 <text x=\"{vx:.1}\" y=\"{ty:.1}\" class=\"tick\">{v}</text></g>",
                l = esc(l),
                v = num(*v),
                tx = left - 6.0,
                ty = y + row * 0.6,
                h = row * 0.7,
                vx = left + w + 4.0,
            );
        }
        s.push_str("</svg>");
        s + &self.table()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks that tags open and close in order (a small well-formedness check: no parser in
    /// the tree, and the output uses no comments, CDATA or unescaped `<`).
    fn well_formed(s: &str) -> bool {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = s;
        while let Some(i) = rest.find('<') {
            let Some(j) = rest[i..].find('>') else {
                return false;
            };
            let tag = &rest[i + 1..i + j];
            rest = &rest[i + j + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop().as_deref() != Some(name) {
                    return false;
                }
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap_or("");
                stack.push(name.to_string());
            }
        }
        stack.is_empty()
    }

    fn chart(points: &[(String, f64)]) -> Chart<'_> {
        Chart {
            title: "Talks <per> day & \"more\"",
            x_label: "Day",
            y_label: "Count",
            points,
        }
    }

    #[test]
    fn line_and_bars_are_well_formed_accessible_and_escaped() {
        let pts = vec![
            ("2026-11-01".to_string(), 3.0),
            ("<script>alert(1)</script>".to_string(), 7.5),
            ("x".to_string(), f64::NAN),
        ];
        for svg in [chart(&pts).line(), chart(&pts).bars()] {
            assert!(well_formed(&svg), "{svg}");
            assert!(!svg.contains("<script>"), "{svg}");
            assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
            assert!(svg.contains("role=\"img\""));
            assert!(svg.contains("aria-label=\"Talks &lt;per&gt; day &amp; &quot;more&quot;\""));
            assert!(svg.contains("<title>Talks &lt;per&gt; day"));
            // The text alternative lists every point, NaN as 0.
            assert!(svg.contains("<table class=\"visually-hidden\">"));
            assert!(svg.contains("<th scope=\"row\">2026-11-01</th><td>3</td>"));
            assert!(
                svg.contains("<td>7.5</td>") && svg.contains("<th scope=\"row\">x</th><td>0</td>")
            );
            assert!(!svg.contains("NaN"));
        }
    }

    #[test]
    fn line_scales_to_the_maximum() {
        let pts = vec![("a".to_string(), 0.0), ("b".to_string(), 10.0)];
        let svg = chart(&pts).line();
        // The first point sits on the axis, the highest at the top padding.
        assert!(
            svg.contains(&format!(
                "M{PAD:.1},{:.1} L{:.1},{PAD:.1}",
                H - PAD,
                W - PAD
            )),
            "{svg}"
        );
        let empty = chart(&[]).line();
        assert!(well_formed(&empty) && !empty.contains("<path"));
    }
}
