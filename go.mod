module github.com/prefdata/prefdata

go 1.23.0

require (
	github.com/sashabaranov/go-openai v1.43.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/sync v0.16.0 // indirect
)
