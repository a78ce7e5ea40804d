using System.Net;
using System.Text;

namespace FactTrace.Reporting;

/// <summary>A piece of a report section.</summary>
public abstract record Block;
/// <summary>A paragraph of plain text.</summary>
public sealed record Paragraph(string Text) : Block;
/// <summary>A highlighted remark: what is missing from a section and why.</summary>
public sealed record Note(string Text) : Block;
/// <summary>A table; <see cref="Id"/> becomes the HTML id; <see cref="VerdictColumn"/> colours held / not held cells.</summary>
public sealed record TableBlock(string? Id, IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows, int? VerdictColumn = null) : Block;
/// <summary>A PNG in the report's figures/ folder.</summary>
public sealed record FigureRef(string FileName, string Alt, string Caption) : Block;

public sealed record Section(string Title, string Anchor, IReadOnlyList<Block> Blocks);

/// <summary>
/// The report as data, rendered to Markdown (figures linked from figures/) and to one self-contained HTML file
/// (figures embedded as base64 data URIs, inline CSS, nothing fetched).
/// </summary>
public sealed record ReportDocument(string Title, IReadOnlyList<string> Preamble, IReadOnlyList<Section> Sections)
{
    public string ToMarkdown(string figuresFolder = "figures")
    {
        var sb = new StringBuilder();
        sb.Append("# ").Append(Title).Append("\n\n");
        foreach (var p in Preamble) sb.Append(p).Append("\n\n");
        foreach (var s in Sections)
        {
            sb.Append("## ").Append(s.Title).Append("\n\n");
            foreach (var b in s.Blocks)
            {
                switch (b)
                {
                    case Paragraph p: sb.Append(p.Text).Append("\n\n"); break;
                    case Note n: sb.Append("> **Note:** ").Append(n.Text).Append("\n\n"); break;
                    case FigureRef f:
                        sb.Append($"![{MdEscape(f.Alt)}]({figuresFolder}/{f.FileName})\n\n*{f.Caption}*\n\n");
                        break;
                    case TableBlock t:
                        sb.Append("| ").Append(string.Join(" | ", t.Header.Select(MdCell))).Append(" |\n");
                        sb.Append('|').Append(string.Concat(t.Header.Select(_ => " --- |"))).Append('\n');
                        foreach (var row in t.Rows)
                        {
                            var cells = row.Select((c, i) => i == t.VerdictColumn ? $"**{MdCell(c)}**" : MdCell(c));
                            sb.Append("| ").Append(string.Join(" | ", cells)).Append(" |\n");
                        }
                        sb.Append('\n');
                        break;
                }
            }
        }
        return sb.ToString();
    }

    static string MdCell(string s) => s.Replace("|", "\\|").ReplaceLineEndings(" ");
    static string MdEscape(string s) => s.Replace("[", "(").Replace("]", ")");

    const string Css = """
        body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1.5em; color: #1d1d1f; line-height: 1.45; }
        h1 { font-size: 1.8em; border-bottom: 2px solid #1f77b4; padding-bottom: .3em; }
        h2 { font-size: 1.35em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
        nav ul { columns: 2; padding-left: 1.2em; }
        table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
        th, td { border: 1px solid #ccc; padding: .35em .6em; text-align: left; vertical-align: top; }
        th { background: #f2f5f9; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        td.held { background: #dff3e0; font-weight: bold; }
        td.not-held { background: #fbe1e1; font-weight: bold; }
        td.not-measured { background: #f0f0f0; color: #666; }
        figure { margin: 1.2em 0; }
        figure img { max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
        figcaption { font-size: .9em; color: #555; margin-top: .3em; }
        .note { background: #fff8e1; border-left: 4px solid #f0b400; padding: .5em .8em; margin: 1em 0; }
        .preamble { color: #444; }
        """;

    // Records, on load, how many images decoded (naturalWidth > 0): the browser test reads it from the DOM.
    const string ImageCheck = """
        window.addEventListener('load', function () {
          var imgs = Array.prototype.slice.call(document.images);
          var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
          document.body.setAttribute('data-images-loaded', ok + '/' + imgs.length);
        });
        """;

    /// <summary>Self-contained HTML: <paramref name="png"/> returns the bytes of a figure by file name.</summary>
    public string ToHtml(Func<string, byte[]> png)
    {
        static string H(string s) => WebUtility.HtmlEncode(s);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
          .Append("<title>").Append(H(Title)).Append("</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n");
        sb.Append("<h1>").Append(H(Title)).Append("</h1>\n");
        foreach (var p in Preamble) sb.Append("<p class=\"preamble\">").Append(H(p)).Append("</p>\n");
        sb.Append("<nav><ul>\n");
        foreach (var s in Sections) sb.Append($"<li><a href=\"#{H(s.Anchor)}\">{H(s.Title)}</a></li>\n");
        sb.Append("</ul></nav>\n");
        foreach (var s in Sections)
        {
            sb.Append($"<section id=\"{H(s.Anchor)}\">\n<h2>{H(s.Title)}</h2>\n");
            foreach (var b in s.Blocks)
            {
                switch (b)
                {
                    case Paragraph p: sb.Append("<p>").Append(H(p.Text)).Append("</p>\n"); break;
                    case Note n: sb.Append("<p class=\"note\"><strong>Note:</strong> ").Append(H(n.Text)).Append("</p>\n"); break;
                    case FigureRef f:
                        var data = Convert.ToBase64String(png(f.FileName));
                        sb.Append($"<figure id=\"fig-{H(Path.GetFileNameWithoutExtension(f.FileName))}\">")
                          .Append($"<img alt=\"{H(f.Alt)}\" src=\"data:image/png;base64,{data}\">")
                          .Append($"<figcaption>{H(f.Caption)}</figcaption></figure>\n");
                        break;
                    case TableBlock t:
                        sb.Append(t.Id is null ? "<table>" : $"<table id=\"{H(t.Id)}\">").Append("\n<thead><tr>");
                        foreach (var h in t.Header) sb.Append("<th>").Append(H(h)).Append("</th>");
                        sb.Append("</tr></thead>\n<tbody>\n");
                        foreach (var row in t.Rows)
                        {
                            sb.Append("<tr>");
                            for (int i = 0; i < row.Count; i++)
                            {
                                var cls = i == t.VerdictColumn ? row[i] switch
                                {
                                    "held" => "held", "not held" => "not-held", _ => "not-measured",
                                } : LooksNumeric(row[i]) ? "num" : null;
                                sb.Append(cls is null ? "<td>" : $"<td class=\"{cls}\">").Append(H(row[i])).Append("</td>");
                            }
                            sb.Append("</tr>\n");
                        }
                        sb.Append("</tbody>\n</table>\n");
                        break;
                }
            }
            sb.Append("</section>\n");
        }
        sb.Append("<script>\n").Append(ImageCheck).Append("</script>\n</body>\n</html>\n");
        return sb.ToString();
    }

    static bool LooksNumeric(string s) => s.Length > 0 && s.Length < 24 && (char.IsDigit(s[0]) || (s[0] == '-' && s.Length > 1 && char.IsDigit(s[1])))
                                          && s.All(c => char.IsDigit(c) || c is '.' or ',' or '%' or ' ' or '±' or '-' or 'e' or '+');
}
