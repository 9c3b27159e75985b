package prefdata_test

import "io"

var ioEOF = io.EOF
