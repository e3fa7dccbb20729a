package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"logjail/config"
	"logjail/report"
	"logjail/runner"
)

func digestCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "digest",
		Usage: "send the digest mail now (--preview: print it and send nothing)",
		Description: "The digest sums up the outbox: the bans, unbans, failures and warnings of the runs since\n" +
			"the last digest. `run` mails it by itself when digest.every has passed since the last one;\n" +
			"`digest` mails it now, whatever digest.every says, and empties the outbox once the mail\n" +
			"server accepted it. With an empty outbox it says so and sends nothing. --preview prints\n" +
			"the mail's headers and text and changes nothing. A failed delivery keeps the outbox\n" +
			"and exits 1 with one line naming the server and the next try.\n\n" +
			"After a failed delivery `run` waits before it tries again: 1 minute, then 2, 4, 8, 16,\n" +
			"32 minutes after the last failure, then an hour (or digest.every when shorter); runs in\n" +
			"between neither connect nor fail, and `status` shows the failures. `digest` ignores\n" +
			"that wait: run it once the mail server is mended.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "preview", Usage: "print the digest (headers and text) instead of sending it; change nothing"},
		},
		Action: func(c *cli.Context) error { return runDigest(c.Context, e, digestOptions{preview: c.Bool("preview")}) },
	}
}

type digestOptions struct {
	preview bool
}

func runDigest(ctx context.Context, e *env, o digestOptions) error {
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if o.preview {
		return previewDigest(e, cfg)
	}
	if !cfg.Digest.Enabled() {
		return usagef("digest: digest.to is not set in %s: no digest is mailed", cfg.File)
	}
	db, closeDB, err := e.state(cfg, false)
	if err != nil {
		return err
	}
	defer closeDB()
	mailer := e.mailer(cfg)
	out, err := runner.SendDigest(ctx, db, runner.DigestOptions{Config: cfg, Now: e.now, Host: e.host(), Mailer: mailer, Force: true})
	if err != nil {
		return stateError(err)
	}
	if !out.Sent {
		fmt.Fprintln(e.stdout, "The outbox is empty: no digest sent.")
		return nil
	}
	fmt.Fprintf(e.stdout, "Digest of %s sent to %s.\n", report.Count(out.Events, "event", "events"), mailer.Server())
	return nil
}

// previewDigest prints the digest the outbox makes now; it works on a
// read-only state, before any run too.
func previewDigest(e *env, cfg *config.Config) error {
	db, closeDB, err := e.state(cfg, true)
	if err != nil {
		return err
	}
	defer closeDB()
	m, err := runner.PreviewDigest(db, cfg, e.host(), e.now)
	if err != nil {
		return stateError(err)
	}
	if m == nil {
		fmt.Fprintln(e.stdout, "The outbox is empty: no digest would be sent.")
		return nil
	}
	if !cfg.Digest.Enabled() {
		fmt.Fprintf(e.stdout, "(digest.to is not set in %s: this digest will not be mailed, and the next run empties the outbox.)\n\n", cfg.File)
	}
	return m.WritePreview(e.stdout)
}
