package config

import (
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Format writes the effective configuration as YAML that Parse reads back
// to the same Config: every jail with every setting resolved, so the
// output has no defaults section. `config check` prints it.
func (c *Config) Format(w io.Writer) error {
	root := mapNode(
		"state", str(c.State),
		"lock_timeout", dur(c.LockTimeout),
		"history", dur(c.History),
		"metrics_file", str(c.MetricsFile),
		"firewall", mapNode(
			"backend", str(c.Firewall.Backend),
			"blocktype", str(c.Firewall.BlockType),
			"maxelem", num(c.Firewall.MaxElem),
		),
	)
	jails := mapNode()
	for _, j := range c.Jails {
		jails.Content = append(jails.Content, str(j.Name), j.node())
	}
	root.Content = append(root.Content, str("jails"), jails)
	d := &c.Digest
	root.Content = append(root.Content, str("digest"), mapNode(
		"to", flow(seq(d.To...)),
		"from", str(d.From),
		"every", dur(d.Every),
		"smtp", flow(mapNode(
			"host", str(d.SMTP.Host),
			"port", num(d.SMTP.Port),
			"starttls", str(d.SMTP.StartTLS),
			"username", str(d.SMTP.Username),
			"password_file", str(d.SMTP.PasswordFile),
		)),
		"sendmail", str(d.Sendmail),
	))
	if f := &c.Fleet; f.Enabled() {
		root.Content = append(root.Content, str("fleet"), mapNode(
			"dsn", str(f.DSN),
			"password_file", str(f.PasswordFile),
			"host", str(f.Host),
			"share", str(f.Share),
			"jails", flow(seq(f.Jails...)),
			"max_bans", num(f.MaxBans),
			"timeout", dur(f.Timeout),
		))
	}
	root.HeadComment = fmt.Sprintf("logjail effective configuration, from %s", c.File)
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("format config %s: %w", c.File, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("format config %s: %w", c.File, err)
	}
	return nil
}

// node writes one resolved jail.
func (j *Jail) node() *yaml.Node {
	m := mapNode("enabled", boolean(j.Enabled))
	if j.Fail2ban != nil {
		m.Content = append(m.Content, str("filter"), j.fail2banNode())
	} else if j.FailRegex != nil {
		m.Content = append(m.Content, str("filter"), mapNode(
			"failregex", regexSeq(j.FailRegex),
			"ignoreregex", regexSeq(j.IgnoreRegex),
		))
	} else if j.Filter != nil {
		m.Content = append(m.Content, str("filter"), str(j.Filter.Name))
	}
	if j.Mode != "" {
		m.Content = append(m.Content, str("mode"), str(j.Mode))
	}
	ports := flow(seq())
	if j.AllPorts() {
		ports = str(AllPorts)
	}
	for _, r := range j.Ports {
		if r.Lo == r.Hi {
			ports.Content = append(ports.Content, num(int(r.Lo)))
		} else {
			ports.Content = append(ports.Content, str(r.String()))
		}
	}
	bantime := str(Permanent)
	if !j.Permanent {
		bantime = dur(j.BanTime)
	}
	ignore := flow(seq())
	for _, p := range j.IgnoreIP {
		ignore.Content = append(ignore.Content, str(prefixString(p)))
	}
	m.Content = append(m.Content, str("logpath"), flow(seq(j.LogPath...)))
	if jn := j.Journal; jn != nil {
		jm := mapNode("match", flow(seq(jn.Match...)))
		if jn.Directory != "" {
			jm.Content = append(jm.Content, str("directory"), str(jn.Directory))
		}
		if len(jn.Files) > 0 {
			jm.Content = append(jm.Content, str("files"), flow(seq(jn.Files...)))
		}
		if jn.Namespace != "" {
			jm.Content = append(jm.Content, str("namespace"), str(jn.Namespace))
		}
		m.Content = append(m.Content, str("journal"), jm)
	}
	m.Content = append(m.Content,
		str("port"), ports,
		str("protocol"), str(j.Protocol),
		str("bantime"), bantime,
		str("findtime"), dur(j.FindTime),
		str("maxretry"), num(j.MaxRetry),
		str("ignoreip"), ignore,
		str("start"), str(j.Start),
		str("ban_prefix6"), num(j.BanPrefix6),
		str("count_prefix6"), num(j.CountPrefix6),
		str("bantime_increment"), flow(mapNode(
			"enabled", boolean(j.Increment.Enabled),
			"factor", factor(j.Increment.Factor),
			"maxtime", dur(j.Increment.MaxTime),
		)),
	)
	return m
}

// prefixString writes a single address without its /32 or /128.
func prefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func num(n int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n)}
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

// factor writes a whole factor as an integer (2, not 2.0).
func factor(f float64) *yaml.Node {
	tag := "!!float"
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		tag = "!!int"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: strconv.FormatFloat(f, 'f', -1, 64)}
}

func dur(d time.Duration) *yaml.Node { return str(FormatDuration(d)) }

func seq(ss ...string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, s := range ss {
		n.Content = append(n.Content, str(s))
	}
	return n
}

// regexSeq writes expressions single-quoted where it can, so that their
// backslashes stay as typed.
func regexSeq(ss []string) *yaml.Node {
	n := seq(ss...)
	for _, x := range n.Content {
		if strings.IndexFunc(x.Value, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
			x.Style = yaml.SingleQuotedStyle
		}
	}
	if len(ss) == 0 {
		n.Style = yaml.FlowStyle
	}
	return n
}

func flow(n *yaml.Node) *yaml.Node {
	n.Style = yaml.FlowStyle
	return n
}

// mapNode makes a mapping of alternating keys (strings) and values (nodes).
func mapNode(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Content = append(n.Content, str(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return n
}
