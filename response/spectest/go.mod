module github.com/prefdata/prefdata/response/spectest

go 1.25

require (
	github.com/getkin/kin-openapi v0.153.0
	github.com/prefdata/prefdata v0.0.0
)

require (
	github.com/go-openapi/jsonpointer v0.22.5 // indirect
	github.com/go-openapi/swag/jsonname v0.25.5 // indirect
	github.com/gorilla/mux v1.8.0 // indirect
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // indirect
	github.com/sashabaranov/go-openai v1.43.0 // indirect
	go.yaml.in/yaml/v4 v4.0.0 // indirect
	golang.org/x/sync v0.16.0 // indirect
	golang.org/x/text v0.23.0 // indirect
)

replace github.com/prefdata/prefdata => ../..
