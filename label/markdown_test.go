package label

import (
	"strings"
	"testing"
)

func TestRenderMarkdown(t *testing.T) {
	got := string(RenderMarkdown("# Title\n\n**bold** and `code`\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n```go\nfunc main() {}\n```\n\n- one\n- two\nline\nbreak"))
	for _, want := range []string{"<h1>Title</h1>", "<strong>bold</strong>", "<code>code</code>", "<table>", "<td>1</td>", `<td align="right">2</td>`, `<code class="language-go">func main() {}`, "<li>one</li>", "line<br>"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %s", want, got)
		}
	}
	if strings.Contains(got, "style=") {
		t.Errorf("inline style, blocked by the pages' CSP: %s", got)
	}
}

// Raw HTML in model text is shown escaped, never interpreted, and link
// schemes that run code are dropped.
func TestRenderMarkdownHostile(t *testing.T) {
	for _, in := range []string{
		`<script>alert(1)</script>`,
		"text <img src=x onerror=alert(1)> inline",
		"<div onclick=\"alert(1)\">\n\nblock\n\n</div>",
		`<iframe src="https://evil.example"></iframe>`,
		"[click](javascript:alert(1))",
		"![x](javascript:alert(1))",
		"</pre></div><b>escape</b>",
		"<!-- comment --> <svg onload=alert(1)>",
	} {
		got := string(RenderMarkdown(in))
		for _, bad := range []string{"<script", "<img src=x", "<div onclick", "<iframe", `href="javascript:`, `src="javascript:`, "<b>", "<svg", "<!--"} {
			if strings.Contains(got, bad) {
				t.Errorf("%q renders %q: %s", in, bad, got)
			}
		}
	}
	if got := string(RenderMarkdown(`<script>alert(1)</script>`)); !strings.Contains(got, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("raw HTML is not shown as text: %s", got)
	}
}

func TestDiffTexts(t *testing.T) {
	a, b := diffTexts("sees its last value, 3.", "sees its final value, 3.")
	changed := func(segs []diffSeg) string {
		var out []string
		for _, s := range segs {
			if s.Changed {
				out = append(out, s.Text)
			}
		}
		return strings.Join(out, "|")
	}
	if changed(a) != "last" || changed(b) != "final" {
		t.Errorf("changed: %q / %q", changed(a), changed(b))
	}
	var whole strings.Builder
	for _, s := range a {
		whole.WriteString(s.Text)
	}
	if whole.String() != "sees its last value, 3." {
		t.Errorf("the segments do not make the text: %q", whole.String())
	}
	// Texts too different for a word diff fall back to lines, still correct.
	ta := "same line\n" + strings.Repeat("alpha ", 3000) + "\nlast\n"
	tb := "same line\n" + strings.Repeat("beta ", 3000) + "\nlast\n"
	a, b = diffTexts(ta, tb)
	if changed(a) != strings.Repeat("alpha ", 3000)+"\n" || changed(b) != strings.Repeat("beta ", 3000)+"\n" {
		t.Errorf("long texts: %.40q / %.40q", changed(a), changed(b))
	}
	if a, b := diffTexts("same", "same"); changed(a) != "" || changed(b) != "" {
		t.Error("equal texts differ")
	}
}
