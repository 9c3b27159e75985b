package label

import (
	"bytes"
	"html/template"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
)

// markdown renders model text as CommonMark with GitHub's tables and
// strikethrough. Raw HTML in the text is shown as text, escaped, never as
// markup: an annotator must see what the model wrote (a <script> tag in an
// answer is part of the answer), and nothing in it may run. goldmark's own
// HTML renderer drops raw HTML unless html.WithUnsafe is given (it is not);
// escapedHTML, registered ahead of it, shows it instead. Link URLs with a
// dangerous scheme (javascript:) are left out by goldmark, and the pages'
// Content-Security-Policy blocks scripts and images from anywhere else.
var markdown = goldmark.New(
	// Column alignment as align="…", not style="…", which the pages'
	// Content-Security-Policy (style-src 'self') would block.
	goldmark.WithExtensions(extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)), extension.Strikethrough),
	goldmark.WithRendererOptions(
		// Model answers break lines where they mean to: keep them.
		html.WithHardWraps(),
		renderer.WithNodeRenderers(util.Prioritized(escapedHTML{}, 100)),
	),
)

// escapedHTML renders raw HTML nodes (blocks and inline tags) as escaped
// text.
type escapedHTML struct{}

func (escapedHTML) RegisterFuncs(r renderer.NodeRendererFuncRegisterer) {
	r.Register(ast.KindHTMLBlock, func(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		b := n.(*ast.HTMLBlock)
		if entering {
			_, _ = w.WriteString(`<pre class="raw-html">`)
			for i := 0; i < b.Lines().Len(); i++ {
				seg := b.Lines().At(i)
				template.HTMLEscape(w, seg.Value(src))
			}
			if b.HasClosure() {
				template.HTMLEscape(w, b.ClosureLine.Value(src))
			}
			_, _ = w.WriteString("</pre>\n")
		}
		return ast.WalkContinue, nil
	})
	r.Register(ast.KindRawHTML, func(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			segs := n.(*ast.RawHTML).Segments
			_, _ = w.WriteString(`<code class="raw-html">`)
			for i := 0; i < segs.Len(); i++ {
				seg := segs.At(i)
				template.HTMLEscape(w, seg.Value(src))
			}
			_, _ = w.WriteString(`</code>`)
		}
		return ast.WalkSkipChildren, nil
	})
}

// RenderMarkdown returns text rendered as HTML that is safe to put in a
// page: raw HTML in text is escaped, never interpreted. On the (unexpected)
// failure of the renderer the text is shown escaped in a <pre>.
func RenderMarkdown(text string) template.HTML {
	var b bytes.Buffer
	if err := markdown.Convert([]byte(text), &b); err != nil {
		return template.HTML("<pre>" + template.HTMLEscapeString(text) + "</pre>")
	}
	return template.HTML(b.String()) // #nosec: escaped by the renderer, raw HTML included
}
