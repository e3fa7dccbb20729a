package runner

import (
	"logjail/enforce"
	"logjail/report"
)

// DryRun is what `run --dry-run` prints of a dry run's result: the bans
// decided that still hold at now, the unbans, and the firewall's plan
// (kind names the backend). Ended counts the bans decided from older
// lines that are over already: history only.
func DryRun(res *Result, kind string) (doc report.DryRunJSON, ended int) {
	doc = report.DryRunJSON{Now: report.Time(res.Now), Ban: []report.BanJSON{}, Unban: []report.UnbanJSON{}, Active: len(res.Active)}
	for _, b := range res.Bans {
		if !b.Permanent() && !b.Until.After(res.Now) {
			ended++
			continue
		}
		doc.Ban = append(doc.Ban, banJSON(b))
	}
	for _, b := range res.Unbans {
		doc.Unban = append(doc.Unban, report.UnbanJSON{Jail: b.Jail, IP: enforce.Addr(b.Prefix)})
	}
	if kind == "" {
		return doc, ended
	}
	f := &report.FirewallJSON{Backend: kind, Add: []string{}, Remove: []string{}}
	if res.FirewallErr != nil {
		f.Error = res.FirewallErr.Error()
	}
	if d := res.Firewall; d != nil {
		f.Add, f.Remove = banList(d.Added), banList(d.Removed)
		f.Update = banList(d.Updated)
		for _, r := range d.Refused {
			f.Refused = append(f.Refused, r.String())
		}
	}
	doc.Firewall = f
	return doc, ended
}

// banList prints firewall bans as "jail address".
func banList(bans []enforce.Ban) []string {
	out := make([]string, 0, len(bans))
	for _, b := range bans {
		out = append(out, b.Jail+" "+enforce.Addr(b.Prefix))
	}
	return out
}
