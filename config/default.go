package config

import (
	"bytes"
	_ "embed"
	"fmt"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultName is the File of the embedded default configuration.
const DefaultName = "(embedded default)"

// DefaultYAML returns the text of the embedded default configuration, for
// `config check` to print and for operators to start from.
func DefaultYAML() []byte {
	return bytes.Clone(defaultYAML)
}

// Default returns the embedded default configuration, which serves when
// there is no file at DefaultPath: a jail for every built-in filter on the
// usual Debian and RHEL log paths, only sshd enabled. Jails whose filter is
// not compiled into this binary are left out. Each call returns a new
// Config that the caller may change.
func Default() *Config {
	p := &parser{file: DefaultName, lenient: true}
	c := p.parse(bytes.NewReader(defaultYAML))
	if len(p.errs) > 0 {
		// The tests parse the embedded file, so this is a build mistake.
		panic(fmt.Sprintf("config: embedded default.yaml is invalid: %v", p.errs))
	}
	return c
}
