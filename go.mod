module github.com/prefdata/prefdata

go 1.23.0

require (
	github.com/sashabaranov/go-openai v1.43.0
	github.com/stretchr/testify v1.12.1
	github.com/yuin/goldmark v1.8.7
	golang.org/x/sync v0.16.0
	golang.org/x/text v0.23.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
