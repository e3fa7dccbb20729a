package report

import "flag"

// update rewrites the package's golden files in testdata: go test -update.
var update = flag.Bool("update", false, "rewrite golden files in testdata")
