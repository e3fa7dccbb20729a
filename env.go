package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"logjail/config"
	"logjail/enforce"
	"logjail/mail"
	"logjail/remote"
	"logjail/state"
)

// env is the wiring every command shares, and the only place it is made:
// the global flags, the standard streams, and how the configuration, the
// state file, the firewall and its guard, the mailer, the clock and the
// host name are had.
type env struct {
	configPath string
	statePath  string
	now        time.Time // the --now time, or the clock at start
	nowSet     bool
	verbose    bool
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
}

// config reads the configuration named by --config, with --state
// applied; any problem with it is a configuration error (exit 2), each
// on its own line.
func (e *env) config() (*config.Config, error) {
	cfg, err := config.Load(e.configPath)
	if err != nil {
		return nil, usageError(err)
	}
	if e.statePath != "" {
		cfg.State = e.statePath
	}
	if cfg.Fleet.Enabled() && cfg.Fleet.Host == "" {
		cfg.Fleet.Host = e.host()
	}
	return cfg, nil
}

// state opens the state file: for writing, or read-only, which also
// works before any run has created the file (an empty temporary state
// stands in). close releases it.
func (e *env) state(cfg *config.Config, readOnly bool) (db *state.DB, close func(), err error) {
	db, err = state.Open(cfg.State, state.Options{Timeout: cfg.LockTimeout, ReadOnly: readOnly})
	if err == nil {
		return db, func() { db.Close() }, nil
	}
	if !readOnly || !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, stateError(err)
	}
	dir, err := os.MkdirTemp("", "logjail-dry-run-")
	if err != nil {
		return nil, nil, err
	}
	db, err = state.Open(filepath.Join(dir, "state.db"), state.Options{Timeout: cfg.LockTimeout})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, stateError(err)
	}
	return db, func() { db.Close(); os.RemoveAll(dir) }, nil
}

// firewallOptions are the configured firewall's options: every jail's
// ignoreip is never banned. LOGJAIL_NETNS names a network namespace to
// act in (tests and containers); unset, logjail acts in its own.
func (e *env) firewallOptions(cfg *config.Config) enforce.Options {
	opts := enforce.Options{BlockType: cfg.Firewall.BlockType, MaxElem: cfg.Firewall.MaxElem, NetNS: os.Getenv("LOGJAIL_NETNS")}
	for _, j := range cfg.Jails {
		opts.Never = append(opts.Never, j.IgnoreIP...)
	}
	return opts
}

// firewall builds the configured backend, none included: it plans too.
func (e *env) firewall(cfg *config.Config) (enforce.Backend, error) {
	return e.firewallKind(cfg, cfg.Firewall.Backend)
}

// firewallKind builds a backend of the given kind with the configured
// options.
func (e *env) firewallKind(cfg *config.Config, kind string) (enforce.Backend, error) {
	fw, err := enforce.New(kind, e.firewallOptions(cfg))
	if err != nil {
		return nil, usageError(err)
	}
	return fw, nil
}

// guard is the firewall's guard, for refusing bans before they are
// recorded. When the machine's addresses cannot be read it checks the
// rest: the firewall step then fails with its own error.
func (e *env) guard(cfg *config.Config) *enforce.Guard {
	g, _ := enforce.NewGuard(e.firewallOptions(cfg))
	return g
}

// mailer delivers the digest as configured, or is nil when the digest is
// off.
func (e *env) mailer(cfg *config.Config) mail.Mailer {
	if !cfg.Digest.Enabled() {
		return nil
	}
	return remote.NewMailer(&cfg.Digest, e.host())
}

// host is this machine's name, for the digest's subject and greeting.
func (e *env) host() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}
