// Package spectest checks the wire of package response against OpenAI's
// OpenAPI description: every request the generator and the batch generator
// send, and every reply the fake server of response/openaitest gives, is
// validated with kin-openapi. It is a module of its own so that the main
// module does not depend on kin-openapi.
package spectest
