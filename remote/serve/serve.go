// Package serve is logjail-net's side of package remote: it reads one
// [remote.Call], makes it with the fleet's PostgreSQL client (fleet/pg)
// or the mail delivery (mail/deliver), and writes the [remote.Reply].
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"logjail/fleet/pg"
	"logjail/mail/deliver"
	"logjail/remote"
)

const usage = "usage: " + remote.Program + " " + remote.VerbExchange + "|" + remote.VerbInit + "|" +
	remote.VerbOverview + "|" + remote.VerbMail + " <CALL.json\n" +
	"logjail runs it to reach the fleet's database and the mail server; it is not for people."

// Main runs logjail-net with args (args[0] its name) and returns its exit
// code: 0 when it replied (the call's own error is in the reply), 2 for a
// wrong verb or call.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var c remote.Call
	if err := json.NewDecoder(stdin).Decode(&c); err != nil {
		fmt.Fprintf(stderr, "%s: read the call on standard input: %v\n", remote.Program, err)
		return 2
	}
	if c.Protocol != remote.Protocol {
		fmt.Fprintf(stderr, "%s: logjail sent a call of protocol %d, this %s speaks %d: install logjail and %s of one release\n",
			remote.Program, c.Protocol, remote.Program, remote.Protocol, remote.Program)
		return 2
	}
	ctx := context.Background()
	if !c.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, c.Deadline)
		defer cancel()
	}
	rep, err := call(ctx, args[1], &c)
	if errors.Is(err, errVerb) {
		fmt.Fprintf(stderr, "%s: %v\n%s\n", remote.Program, err, usage)
		return 2
	}
	if err != nil {
		rep.Error = err.Error()
	}
	if err := json.NewEncoder(stdout).Encode(rep); err != nil {
		fmt.Fprintf(stderr, "%s: write the reply: %v\n", remote.Program, err)
		return 1
	}
	return 0
}

var errVerb = errors.New("unknown verb")

// call makes c; the reply is never nil.
func call(ctx context.Context, verb string, c *remote.Call) (*remote.Reply, error) {
	rep := &remote.Reply{}
	switch verb {
	case remote.VerbMail:
		if c.Digest == nil || c.Message == nil {
			return rep, errors.New("mail: the call has no digest or message")
		}
		return rep, deliver.New(c.Digest, c.Host).Send(ctx, c.Message)
	case remote.VerbExchange, remote.VerbInit, remote.VerbOverview:
	default:
		return rep, fmt.Errorf("%w %q", errVerb, verb)
	}
	if c.Fleet == nil {
		return rep, fmt.Errorf("%s: the call has no fleet section", verb)
	}
	cl, err := pg.Connect(ctx, c.Fleet, c.Host)
	if err != nil {
		return rep, err
	}
	defer cl.Close()
	switch verb {
	case remote.VerbExchange:
		if c.Request == nil {
			return rep, fmt.Errorf("%s: the call has no request", verb)
		}
		rep.Response, err = cl.Exchange(ctx, *c.Request)
	case remote.VerbInit:
		rep.From, rep.To, err = pg.Init(ctx, cl)
	case remote.VerbOverview:
		rep.Overview, err = cl.Overview(ctx, c.Now, c.Windows, c.Top)
	}
	return rep, err
}
