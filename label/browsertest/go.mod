module github.com/prefdata/prefdata/label/browsertest

go 1.25

require (
	github.com/chromedp/chromedp v0.23.0
	github.com/prefdata/prefdata v0.0.0
)

require (
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/yuin/goldmark v1.8.7 // indirect
	golang.org/x/sync v0.16.0 // indirect
	golang.org/x/text v0.23.0 // indirect
)

replace github.com/prefdata/prefdata => ../..
