package state

import (
	"net/netip"
	"testing"
	"time"
)

func TestFleetOutbox(t *testing.T) {
	db, _ := openTemp(t)
	p := netip.MustParsePrefix("192.0.2.7/32")
	t0 := time.Unix(1700000000, 0)
	var sent []FleetEntry
	err := db.Update(func(tx *Tx) error {
		b := Ban{Jail: "sshd", Prefix: p, Start: t0, Until: t0.Add(time.Hour), Offense: 1, Origin: "web2"}
		if err := tx.PutBan(&b); err != nil {
			return err
		}
		for _, e := range []FleetEntry{
			{Kind: FleetBan, Ban: &b},
			{Kind: FleetFailures, Jail: "sshd", Prefix: p, Bucket: 100, Count: 2},
			{Kind: FleetFailures, Jail: "sshd", Prefix: p, Bucket: 100, Count: 3},
			{Kind: FleetFailures, Jail: "sshd", Prefix: p, Bucket: 110, Count: 1},
		} {
			if err := tx.AddFleetEntry(e); err != nil {
				return err
			}
		}
		var err error
		sent, err = tx.FleetEntries()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 3 {
		t.Fatalf("entries = %+v, want 3 (the two counts of bucket 100 added)", sent)
	}
	for _, e := range sent {
		if e.Kind == FleetFailures && e.Bucket == 100 && e.Count != 5 {
			t.Errorf("bucket 100 count = %d, want 5", e.Count)
		}
	}
	err = db.Update(func(tx *Tx) error {
		// a count added after the send is not marked sent with it
		if err := tx.AddFleetEntry(FleetEntry{Kind: FleetFailures, Jail: "sshd", Prefix: p, Bucket: 110, Count: 4}); err != nil {
			return err
		}
		if err := tx.FleetSent(sent); err != nil {
			return err
		}
		left, err := tx.FleetEntries()
		if err != nil {
			return err
		}
		if len(left) != 1 || left[0].Count != 5 || tx.FleetPending() != 1 {
			t.Errorf("left = %+v, want bucket 110 with 1+4", left)
		}
		// a sent count stays, and a later failure adds to the total
		if err := tx.AddFleetEntry(FleetEntry{Kind: FleetFailures, Jail: "sshd", Prefix: p, Bucket: 100, Count: 1}); err != nil {
			return err
		}
		left, _ = tx.FleetEntries()
		if len(left) != 2 || left[0].Bucket != 100 || left[0].Count != 6 {
			t.Errorf("after a new failure in bucket 100: %+v, want its total 6 unsent", left)
		}
		if err := tx.FleetSent(left); err != nil {
			return err
		}
		if err := tx.PurgeFleetCounts(105); err != nil {
			return err
		}
		if err := tx.AddFleetEntry(FleetEntry{Kind: FleetFailures, Jail: "sshd", Prefix: p, Bucket: 110, Count: 1}); err != nil {
			return err
		}
		left, _ = tx.FleetEntries()
		if len(left) != 1 || left[0].Count != 6 {
			t.Errorf("after the purge: %+v, want bucket 110 alone with 6", left)
		}
		got, err := tx.Ban("sshd", p)
		if err != nil || got.Origin != "web2" {
			t.Errorf("ban read back = %+v, %v; want origin web2", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
