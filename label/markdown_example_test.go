package label_test

import (
	"fmt"

	"github.com/prefdata/prefdata/label"
)

// Model text is rendered as Markdown for annotators; raw HTML in it is
// shown as text and never runs.
func ExampleRenderMarkdown() {
	fmt.Print(label.RenderMarkdown("Use **bold** <script>alert(1)</script> sparingly."))
	// Output:
	// <p>Use <strong>bold</strong> <code class="raw-html">&lt;script&gt;</code>alert(1)<code class="raw-html">&lt;/script&gt;</code> sparingly.</p>
}
